"""`datacody check`: run the checks of selected assets on their outputs; the CI gate."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def check(
        project_dir: ProjectDir = Path("."),
        select: Annotated[
            list[str] | None,
            typer.Option("--select", "-s", help="Asset names or group:NAME (repeatable, comma-separated)."),
        ] = None,
        junit_xml: Annotated[
            Path | None,
            typer.Option("--junit-xml", help="Write results as JUnit XML for CI.", dir_okay=False),
        ] = None,
        no_cache: Annotated[
            bool, typer.Option("--no-cache", help="Re-evaluate checks even on unchanged data.")
        ] = False,
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="No progress; print only failures.")
        ] = False,
    ) -> None:
        """Run checks on current outputs; exit 1 when an error-severity check fails."""
        from datacody_dagster.checks.ci import gate_failed, run_project_checks
        from datacody_dagster.checks.junit import write_junit
        from datacody_dagster.checks.selection import select_nodes
        from datacody_dagster.cli.progress import rows_progress
        from datacody_dagster.compiler import compile_project

        started = time.monotonic()
        project = compile_project(project_dir)
        nodes = select_nodes(project, select)
        progress = rows_progress("checking", [n.name for n in nodes if n.checks], not quiet, console)
        with progress or contextlib.nullcontext():
            outcomes = run_project_checks(
                project,
                nodes,
                use_cache=not no_cache,
                on_status=progress.set_status if progress is not None else None,
            )
        seconds = time.monotonic() - started
        table = Table(title="checks")
        for col in ("asset", "check", "severity", "status", "failing rows"):
            table.add_column(col, justify="right" if col == "failing rows" else "left")
        for o in outcomes:
            if o.error is not None:
                status = "[red]error[/red]"
            elif o.passed:
                status = "[green]pass[/green]" + (" (reused)" if o.reused else "")
            else:
                status = "[red]FAIL[/red]" if o.check.severity == "error" else "[yellow]warn[/yellow]"
            table.add_row(
                o.check.asset,
                o.check.name,
                o.check.severity,
                status,
                f"{o.failing_rows:,}" if o.total_rows or o.failing_rows else "",
            )
        if not quiet or gate_failed(outcomes):
            console.print(table)
        for o in outcomes:
            if o.error is not None:
                err_console.print(
                    f"[red]error[/red] {o.check.asset}.{o.check.name}: {o.error}", highlight=False
                )
        if junit_xml is not None:
            write_junit(junit_xml, outcomes, seconds)
        failed = [o for o in outcomes if o.check.severity == "error" and (not o.passed or o.error)]
        if gate_failed(outcomes):
            names = ", ".join(f"{o.check.asset}.{o.check.name}" for o in failed)
            err_console.print(
                f"[red]{len(failed)} error-severity check(s) failed[/red]: {names}", highlight=False
            )
            raise typer.Exit(1)
        if not quiet:
            console.print(
                f"[green]ok[/green]: {len(outcomes)} checks on {len(nodes)} assets in {seconds:.1f}s"
            )
