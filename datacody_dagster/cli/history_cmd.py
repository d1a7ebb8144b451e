"""`datacody history ASSET [--json]`: an asset's versions, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def history(
        asset: Annotated[str, typer.Argument(help="Asset name, as in asset_specs/.")],
        project_dir: ProjectDir = Path("."),
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    ) -> None:
        """List the recorded versions of ASSET (DVC hash, time, run, rows, code version)."""
        from datacody_dagster.versioning.session import open_asset_versions

        versions = open_asset_versions(project_dir.resolve(), asset)
        if as_json:
            typer.echo(json.dumps([e.to_json() for e in versions.history], indent=2))
            return
        if not versions.history:
            console.print(f"{asset} has no recorded versions yet: materialize it first")
            return
        table = Table(title=f"versions of {asset}")
        for col in ("version", "dvc hash", "created (UTC)", "run", "rows", "code version", "note"):
            table.add_column(col, justify="right" if col in {"version", "rows"} else "left")
        for i, e in enumerate(versions.history):
            note = "current" if i == 0 else ""
            if e.checkout_of is not None:
                note = f"{note + ', ' if note else ''}checkout of v{e.checkout_of}"
            table.add_row(
                f"v{e.version}",
                e.hash[:12] + (".dir" if e.hash.endswith(".dir") else ""),
                e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                (e.run_id or "-")[:8],
                "-" if e.row_count is None else f"{e.row_count:,}",
                (e.code_version or "-")[:12],
                note,
            )
        console.print(table)
