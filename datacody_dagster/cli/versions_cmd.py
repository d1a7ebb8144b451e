"""`datacody versions push|pull`: sync recorded versions with the configured DVC remote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors

versions_app = typer.Typer(help="Sync recorded versions with the DVC remote (dvc.remote in resources/).")

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress; print only failures.")]


@versions_app.command()
@handle_errors
def push(project_dir: ProjectDir = Path("."), quiet: Quiet = False) -> None:
    """Push every recorded version (not only the current ones) to the remote."""
    from datacody_dagster.cli.progress import spinner
    from datacody_dagster.config import load_settings
    from datacody_dagster.versioning.remote import push_versions

    root = project_dir.resolve()
    with spinner("pushing versions", not quiet, console) as say:
        result = push_versions(
            root, load_settings(root).dvc, lambda n: say(f"pushing {n} object(s) to the remote")
        )
    if not quiet or result.failed:
        console.print(f"[green]pushed[/green] {result.transferred} object(s); {result.failed} failed")
    if result.failed:
        raise typer.Exit(1)


@versions_app.command()
@handle_errors
def pull(
    project_dir: ProjectDir = Path("."),
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Also fetch every version in the Dagster history.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """`dvc pull` the current outputs; with --all-versions fetch every historical version too."""
    from datacody_dagster.cli.progress import spinner
    from datacody_dagster.config import load_settings
    from datacody_dagster.versioning.remote import fetch_versions, pull_current

    root = project_dir.resolve()
    settings = load_settings(root).dvc
    with spinner("pulling the current outputs", not quiet, console) as say:
        result = pull_current(root, settings, lambda n: say(f"pulling {n} current output(s)"))
    if not quiet:
        console.print(f"[green]pulled[/green] {result.transferred} object(s) for the current outputs")
    if all_versions:
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.instance import project_instance
        from datacody_dagster.versioning.assets import resolve_asset
        from datacody_dagster.versioning.history import asset_history

        with spinner("reading the version history", not quiet, console) as say:
            project = compile_project(root)
            instance = project_instance(project.root)
            hashes = [
                e.hash
                for node in project.plan.nodes
                if not node.is_dbt_view
                for e in asset_history(instance, resolve_asset(project, node.name).key)
            ]
            say(f"fetching versions ({len(set(hashes))} recorded)")
            fetched = fetch_versions(
                root, settings, hashes, lambda n: say(f"fetching {n} missing object(s) from the remote")
            )
        if not quiet:
            console.print(
                f"[green]fetched[/green] {fetched.transferred} object(s) of {len(set(hashes))} version(s)"
            )


def register(app: typer.Typer) -> None:
    app.add_typer(versions_app, name="versions")
