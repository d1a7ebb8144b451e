"""`datacody quarantine list|show|publish|drop`: candidates that failed blocking checks."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, handle_errors

if TYPE_CHECKING:
    from datacody_dagster.compiler import CompiledProject
    from datacody_dagster.runtime.staging import QuarantineEntry

quarantine_app = typer.Typer(
    help="Candidates that failed blocking checks: list, show, publish (forced) or drop.",
    no_args_is_help=True,
)

Asset = Annotated[str, typer.Argument(help="Asset name, as in asset_specs/.")]
Run = Annotated[str | None, typer.Argument(help="Run id (a unique prefix); default: the newest.")]


def _project(project_dir: Path) -> CompiledProject:
    from datacody_dagster.compiler import compile_project

    return compile_project(project_dir.resolve())


def _find(project: CompiledProject, asset: str, run: str | None, env: str | None = None) -> QuarantineEntry:
    from datacody_dagster.runtime.quarantine import find_entry

    return find_entry(project, asset, run, env)


@quarantine_app.command("list")
@handle_errors
def list_(
    project_dir: ProjectDir = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List quarantined candidates, newest first: prod's, then environments' (`plan --env`)."""
    from datacody_dagster.runtime.quarantine import env_entries, list_entries

    project = _project(project_dir)
    listed = [(project.env, e) for e in list_entries(project)] + env_entries(project)
    if as_json:
        typer.echo(json.dumps([{"env": env, **asdict(e)} for env, e in listed], indent=2))
        return
    if not listed:
        console.print("nothing in quarantine")
        return
    table = Table(title="quarantine")
    for col in ("env", "asset", "run", "created (UTC)", "rows", "failing checks", "candidate"):
        table.add_column(col)
    for env, e in listed:
        rows = "-" if e.rows is None else f"{e.rows:,}"
        table.add_row(env, e.asset, e.run_id[:8], e.created_at, rows, ", ".join(e.failing_checks), e.relpath)
    console.print(table)
    if any(env != project.env for env, _ in listed):
        console.print(
            "an environment's candidates are not published from here: fix the spec and "
            "`datacody plan --env NAME` again, or `datacody env delete NAME`"
        )


@quarantine_app.command("show")
@handle_errors
def show(
    asset: Asset,
    run: Run = None,
    project_dir: ProjectDir = Path("."),
    env: Annotated[
        str | None, typer.Option("--env", help="An environment's candidate (`plan --env NAME`).")
    ] = None,
) -> None:
    """Show a candidate: its failing checks, rows, spec and a preview of its data."""
    from datacody_dagster.runtime.outputs import output_metadata
    from datacody_dagster.versioning.env_state import check_env_name

    project = _project(project_dir)
    entry = _find(project, asset, run, check_env_name(env) if env is not None else None)
    where = f" in env `{env}`" if env is not None and env != project.env else ""
    console.print(f"[bold]{entry.asset}[/bold] candidate of run {entry.run_id} ({entry.created_at}){where}")
    console.print(f"  file: {entry.relpath}")
    console.print(f"  spec: {entry.spec}")
    console.print(f"  rows: {entry.rows if entry.rows is not None else '-'}")
    console.print(f"  failing checks: {', '.join(entry.failing_checks)}")
    candidate = entry.path(project.root)
    if candidate.exists():
        meta = output_metadata(project, project.plan.node(entry.asset), candidate)
        console.print(meta["datacody/preview"].value, markup=False, highlight=False)
    else:
        console.print("  [red]the candidate file is missing[/red]")


@quarantine_app.command("publish")
@handle_errors
def publish(
    asset: Asset,
    run: Run = None,
    project_dir: ProjectDir = Path("."),
    wait_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for prod's runs (a materialize, an apply) to finish.")
    ] = 600.0,
) -> None:
    """Publish a candidate despite its failed checks (recorded as a forced publish)."""
    from datacody_dagster.cli.prod_lock import holding_prod
    from datacody_dagster.instance import project_instance
    from datacody_dagster.runtime.quarantine import publish_entry

    project = _project(project_dir)
    with holding_prod(project.root, "datacody quarantine publish", wait_timeout):
        entry = _find(project, asset, run)
        md5 = publish_entry(project, entry, project_instance(project.root))
        # prod's state follows (for `plan`; an env planned before sees that prod moved)
        from datacody_dagster.versioning.env_state import record_held

        record_held(project, project.plan.node(entry.asset), md5)
    shown = f" as {md5[:12]}" if md5 else ""
    console.print(
        f"[yellow]published[/yellow] {asset} from run {entry.run_id[:8]}{shown} (forced: "
        f"failed {', '.join(entry.failing_checks)}); downstream assets may now be stale"
    )


@quarantine_app.command("drop")
@handle_errors
def drop(asset: Asset, run: Run = None, project_dir: ProjectDir = Path(".")) -> None:
    """Delete a quarantined candidate."""
    from datacody_dagster.runtime.quarantine import drop_entry

    project = _project(project_dir)
    entry = _find(project, asset, run)
    drop_entry(project, entry)
    console.print(f"dropped the {asset} candidate of run {entry.run_id[:8]}")


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")
