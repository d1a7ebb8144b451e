"""`datacody ddl ASSET --dialect duckdb|postgres|spark`: CREATE TABLE for an asset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, err_console, handle_errors


@handle_errors
def ddl(
    asset: Annotated[str, typer.Argument(help="Asset name.")],
    project_dir: ProjectDir = Path("."),
    dialect: Annotated[str, typer.Option(help="duckdb, postgres or spark.")] = "duckdb",
) -> None:
    """Print the CREATE TABLE statement of ASSET (types from its output, else its spec)."""
    from datacody_dagster.assistant.ddl import asset_ddl
    from datacody_dagster.compiler import compile_project

    text, origin = asset_ddl(compile_project(project_dir), asset, dialect)
    err_console.print(f"-- column types from the asset's {origin}", highlight=False)
    typer.echo(text)


def register(app: typer.Typer) -> None:
    app.command("ddl")(ddl)
