"""`datacody validate`: parse and validate every spec, report all problems at once."""

from __future__ import annotations

from pathlib import Path

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors
from datacody_dagster.errors import DatacodyError, Severity


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def validate(project_dir: ProjectDir = Path(".")) -> None:
        """Check the asset specs: keys, references, cycles, SQL, check columns."""
        from datacody_dagster.compiler import compile_project, diagnose

        _, diags = diagnose(project_dir.resolve())
        errors = [d for d in diags if d.severity == Severity.ERROR]
        if errors:
            raise DatacodyError(errors)
        project = compile_project(project_dir)
        sources = sum(1 for n in project.plan.nodes if n.is_source)
        checks = len(project.plan.checks())
        exports = sum(1 for n in project.plan.nodes if n.kind == "export")
        of_which = f" ({exports} export{'s' if exports != 1 else ''})" if exports else ""
        console.print(
            f"[green]ok[/green]: {len(project.plan.nodes) - sources} assets{of_which}, {sources} sources, "
            f"{checks} checks in {len(project.plan.groups())} groups"
        )
