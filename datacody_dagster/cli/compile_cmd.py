"""`datacody compile [--check]`: write the generated dbt files (or fail CI when stale)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command(name="compile")
    @handle_errors
    def compile_(
        project_dir: ProjectDir = Path("."),
        check: Annotated[
            bool, typer.Option("--check", help="Write nothing; exit 1 if generated files are stale.")
        ] = False,
    ) -> None:
        """Compile the specs into dbt models and schema YAML under dbt_project/models/datacody/."""
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.emit.files import sync_generated_files

        project = compile_project(project_dir)
        report = sync_generated_files(project, check_only=check)
        if check:
            if report.stale:
                for path in report.written:
                    err_console.print(f"stale: {path}")
                for path in report.removed:
                    err_console.print(f"obsolete: {path}")
                err_console.print(
                    f"[red]DC200: {len(report.stale)} generated file(s) out of date[/red]; "
                    "run `datacody compile` and commit the result"
                )
                raise typer.Exit(1)
            console.print(f"[green]up to date[/green]: {len(report.unchanged)} generated files")
            return
        for path in report.written:
            console.print(f"wrote {path}")
        for path in report.removed:
            console.print(f"removed {path}")
        console.print(
            f"[green]compiled[/green] {len(project.plan.nodes)} nodes: {len(report.written)} written, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed"
        )
