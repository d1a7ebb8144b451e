"""`datacody feedback ASSET CHECK --false-alarm [--run RUN]`: a person's verdict on a check result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def feedback(
        asset: Annotated[str, typer.Argument(help="Asset the check belongs to.")],
        check: Annotated[str, typer.Argument(help="Check name, as shown in Dagster and `datacody check`.")],
        project_dir: ProjectDir = Path("."),
        false_alarm: Annotated[
            bool, typer.Option("--false-alarm", help="The failure was not a real problem.")
        ] = False,
        confirmed: Annotated[
            bool, typer.Option("--confirmed", help="The failure was a real problem.")
        ] = False,
        run: Annotated[
            str | None, typer.Option("--run", help="Run id of the evaluation (default: the latest failure).")
        ] = None,
    ) -> None:
        """Record a verdict on a check result; calibrated checks and the optimizer learn from it."""
        from datacody_dagster.checks.feedback import record_feedback
        from datacody_dagster.checks.selection import select_nodes
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.errors import DatacodyError, Diagnostic
        from datacody_dagster.instance import project_instance

        if false_alarm == confirmed:
            raise DatacodyError(
                Diagnostic("DC300", "give exactly one verdict", None, "pass --false-alarm or --confirmed")
            )
        project = compile_project(project_dir)
        node = select_nodes(project, [asset])[0]
        names = [c.name for c in node.checks]
        if check not in names:
            raise DatacodyError(
                Diagnostic(
                    "DC300",
                    f"{asset} has no check named {check!r}",
                    node.location,
                    f"checks of {asset}: {', '.join(names) or 'none'}",
                )
            )
        item = record_feedback(
            project_instance(project.root),
            asset,
            check,
            "false_alarm" if false_alarm else "confirmed",
            run,
        )
        what = "false alarm" if false_alarm else "confirmed failure"
        learned = (
            "; its thresholds widen past " + ", ".join(f"{k} {v:.4g}" for k, v in item.deviations.items())
            if item.deviations and false_alarm
            else ""
        )
        console.print(f"recorded a {what} on {asset}.{check} (run {item.run_id}){learned}", highlight=False)
