"""`datacody suggest-checks ASSET [--write]`: propose checks from the data and its history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command("suggest-checks")
    @handle_errors
    def suggest_checks_cmd(
        asset: Annotated[str, typer.Argument(help="Asset whose output is profiled.")],
        project_dir: ProjectDir = Path("."),
        write: Annotated[bool, typer.Option("--write", help="Add the proposals to the spec file.")] = False,
    ) -> None:
        """Print checks the data satisfies (and history supports) as a YAML snippet."""
        from datacody_dagster.checks.history import DagsterCheckHistory
        from datacody_dagster.checks.selection import select_nodes
        from datacody_dagster.checks.suggest import suggest_checks, suggestions_yaml, write_suggestions
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.instance import project_instance

        project = compile_project(project_dir)
        node = select_nodes(project, [asset])[0]
        instance = project_instance(project.root)
        report = suggest_checks(project, node, history=DagsterCheckHistory(instance), instance=instance)
        for failure in report.repeated_failures:
            console.print(
                f"[yellow]repeated failure[/yellow] {asset}.{failure.check}: failed {failure.times} times "
                f"in a row ({failure.reason}); likely cause: {failure.likely_cause}",
                highlight=False,
            )
        if not report.suggestions:
            console.print(f"no new checks to suggest for {asset}")
            return
        typer.echo(suggestions_yaml(report.suggestions))
        if write:
            path = write_suggestions(project, node, report.suggestions)
            console.print(f"[green]wrote[/green] {len(report.suggestions)} checks to {path}")
