"""`datacody materialize [--select ...]`: run assets headless through Dagster."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors

if TYPE_CHECKING:
    from datacody_dagster.compiler import CompiledProject
    from datacody_dagster.runtime.dbt_worker import DbtWorker
    from datacody_dagster.runtime.summary import MaterializeSummary

STYLES = {
    "materialized": "green",
    "failed": "red",
    "skipped": "yellow",
    "quarantined": "red",
    "up to date": "cyan",
}


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
        force: Annotated[
            bool, typer.Option("--force", "-f", help="Rebuild the selection even where it is up to date.")
        ] = False,
        wait_timeout: Annotated[
            float,
            typer.Option(help="Seconds to wait for the DuckDB writer pool held by another live run."),
        ] = 600.0,
        accept_schema_change: Annotated[
            bool,
            typer.Option(help="Accept sources whose columns changed on purpose (else they are rejected)."),
        ] = False,
    ) -> None:
        """Materialize assets (all by default) with their checks; exit 1 on any failure.

        Assets whose code, checks, input data and output are unchanged since their last
        materialization are not rebuilt: their row says `up to date`.
        """
        from datacody_dagster.runtime.dbt_worker import start_worker
        from datacody_dagster.runtime.worker_hint import likely_nothing_to_do

        started = time.monotonic()
        options = _Options(select, quiet, verbose, force, wait_timeout, accept_schema_change)
        # dbt's import starts now, on the other core, beside the imports and compile below; a
        # run that needs no dbt stops it (runtime/dbt_worker.py). Not for a rerun that most
        # likely has nothing to do (runtime/worker_hint.py): it starts later if there is.
        early = force or select is not None or not likely_nothing_to_do(project_dir.resolve())
        worker = start_worker(verbose) if early else None
        failed = True
        try:
            summary = _plan_and_run(project_dir, options, worker, started)
            failed = False
        finally:
            if worker is not None:
                worker.close(kill=failed)
        _report(summary, quiet)


@dataclass(frozen=True)
class _Options:
    """The command's options, as the steps below read them."""

    select: str | None
    quiet: bool
    verbose: bool
    force: bool
    wait_timeout: float
    accept_schema_change: bool


def _say(text: str) -> None:
    err_console.print(text, markup=False, highlight=False)


def _plan_and_run(
    project_dir: Path, options: _Options, worker: DbtWorker | None, started: float
) -> MaterializeSummary:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.envs.recovery import recover_at
    from datacody_dagster.runtime.noop import up_to_date_summary
    from datacody_dagster.runtime.worker_hint import forget_settled, remember_settled

    # Finish an apply killed midway before prod is written again (waiting for prod's runs).
    recover_at(project_dir.resolve(), options.wait_timeout, _say, "datacody materialize")
    project = compile_project(project_dir.resolve())
    # Nothing to rebuild: answered without importing Dagster, DVC or dbt, and no run is created.
    summary = None if options.force else up_to_date_summary(project, options.select)
    if summary is not None:
        summary.seconds = time.monotonic() - started
    else:
        summary = _run(project, options, worker)
    if options.select is None and summary.success:
        remember_settled(project)
    else:
        forget_settled(project.root)
    return summary


def _run(project: CompiledProject, options: _Options, worker: DbtWorker | None) -> MaterializeSummary:
    from datacody_dagster.runtime.dbt_worker import dbt_worker
    from datacody_dagster.runtime.process_gc import starting_up

    # dbt parses in the worker on the other core while this process imports Dagster: before
    # any Dagster import below.
    with dbt_worker(project, options.verbose, options.select, started=worker):
        with starting_up():
            from datacody_dagster.cli.asset_progress import progress_for
            from datacody_dagster.runtime.materialize import materialize_project

        return materialize_project(
            project.root,
            options.select,
            progress_for=lambda names: progress_for(names, not options.quiet),
            verbose=options.verbose,
            force=options.force,
            wait_timeout_s=options.wait_timeout,
            say=_say,
            accept_schema_change=options.accept_schema_change,
            project=project,
        )


def _report(summary: MaterializeSummary, quiet: bool) -> None:
    """The table (unless quiet and successful), the errors; exit 1 on any failure."""
    if not quiet or not summary.success:
        table = Table(title="materialization", show_lines=False)
        for col in ("asset", "status", "rows", "seconds", "checks"):
            table.add_column(col, justify="right" if col in {"rows", "seconds"} else "left")
        for row in summary.rows:
            style = STYLES.get(row.status)
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
        fresh = sum(r.status == "up to date" for r in summary.rows)
        done = f"{len(summary.rows) - fresh} assets materialized, {fresh} up to date"
        console.print(f"[green]ok[/green]: {done} in {summary.seconds:.1f}s")
