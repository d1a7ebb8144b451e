"""`datacody materialize [--select ...]`: run assets headless through Dagster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def materialize(
        project_dir: ProjectDir = Path("."),
        select: Annotated[
            str | None,
            typer.Option(
                "--select", "-s", help="Dagster asset selection, e.g. 'group:flights' or 'orders+'."
            ),
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only failures.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Dagster and dbt logs.")] = False,
    ) -> None:
        """Materialize assets (all by default) with their checks; exit 1 on any failure."""
        from datacody_dagster.envs.recovery import recover_at
        from datacody_dagster.runtime.materialize import materialize_project

        recover_at(project_dir.resolve())  # finish an apply killed midway before prod is written again
        summary = materialize_project(project_dir.resolve(), select, show_progress=not quiet, verbose=verbose)
        if not quiet or not summary.success:
            table = Table(title="materialization", show_lines=False)
            for col in ("asset", "status", "rows", "seconds", "checks"):
                table.add_column(col, justify="right" if col in {"rows", "seconds"} else "left")
            for row in summary.rows:
                style = {"materialized": "green", "failed": "red", "skipped": "yellow"}.get(row.status)
                table.add_row(
                    row.asset,
                    f"[{style}]{row.status}[/{style}]" if style else row.status,
                    "" if row.rows is None else f"{row.rows:,}",
                    "" if row.seconds is None else f"{row.seconds:.2f}",
                    row.checks,
                )
            console.print(table)
        for message in summary.errors:
            err_console.print(f"[red]error[/red]: {message}", highlight=False)
        if not summary.success:
            raise typer.Exit(1)
        if not quiet:
            console.print(f"[green]ok[/green]: {len(summary.rows)} assets in {summary.seconds:.1f}s")
