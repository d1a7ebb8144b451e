"""`datacody scaffold FILE`: profile a sample file and write a spec for it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


@handle_errors
def scaffold(
    file: Annotated[Path, typer.Argument(help="A csv, parquet or json file inside the project.")],
    project_dir: ProjectDir = Path("."),
    name: Annotated[str | None, typer.Option(help="Source name (default: from the file name).")] = None,
    group: Annotated[str | None, typer.Option(help="Dagster group (default: the source name).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Spec file to write (default: asset_specs/NAME.yaml).")
    ] = None,
) -> None:
    """Profile FILE with DuckDB and write a spec: types, materialization, partitioning, checks."""
    from datacody_dagster.assistant.scaffold import scaffold as run

    path, profile = run(project_dir, file, name=name, group=group, out=out)
    console.print(
        f"profiled {profile.rows:,} rows x {len(profile.columns)} columns; wrote {path} "
        "(it validates). Review the suggested checks.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("scaffold")(scaffold)
