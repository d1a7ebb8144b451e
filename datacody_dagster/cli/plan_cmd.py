"""`datacody plan [--env NAME]`: what the specs change against prod, built and audited in NAME."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors


def _say(text: str) -> None:
    err_console.print(text, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def plan(
        project_dir: ProjectDir = Path("."),
        env: Annotated[
            str | None,
            typer.Option("--env", help="Build the rebuild list into data/envs/ENV and run its checks."),
        ] = None,
        markdown: Annotated[
            Path | None, typer.Option("--markdown", help="Also write the plan as Markdown (a PR comment).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
        changed_only: Annotated[
            bool, typer.Option("--changed-only", help="Leave out assets that nothing touches.")
        ] = False,
        wait_timeout: Annotated[
            float,
            typer.Option(
                help="Seconds to wait for prod's lock (prod's runs hold it) when an interrupted "
                "apply must be finished first."
            ),
        ] = 600.0,
    ) -> None:
        """Classify every asset's change against prod (breaking, non-breaking, indirect, ...)."""
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.envs.plan import build_env_plan
        from datacody_dagster.envs.recovery import recover_apply
        from datacody_dagster.envs.render import plan_markdown, plan_table, summary_line
        from datacody_dagster.versioning.env_state import PROD, check_env_name, load_state

        project = compile_project(project_dir)
        recover_apply(project, wait_timeout, _say, "datacody plan")
        prod = load_state(project.root, PROD)
        name = check_env_name(env) if env else PROD
        if env == PROD:
            typer.echo("`prod` is the warehouse itself: plan into another env, then `apply`", err=True)
            raise typer.Exit(1)
        the_plan = build_env_plan(name, prod, project.plan)
        if as_json and not env:
            typer.echo(json.dumps(the_plan.to_json(), indent=2))
            return
        if prod is None:
            console.print("[yellow]prod holds no recorded state yet: every asset counts as added[/yellow]")
        console.print(plan_table(the_plan, show_unchanged=not changed_only))
        console.print(summary_line(the_plan))
        report = plan_markdown(the_plan)
        failed = False
        if env:
            from datacody_dagster.envs.build import build_env
            from datacody_dagster.envs.render import build_markdown, build_table

            build = build_env(project, the_plan, prod)
            if build.run_id is not None:
                console.print(f"Dagster run {build.run_id} (tag datacody/env: {name})")
            console.print(build_table(build))
            report += build_markdown(build)
            failed = bool(build.blocking_failures)
            if failed:
                console.print("[red]blocking failures: " + "; ".join(build.blocking_failures) + "[/red]")
            else:
                console.print(
                    f"[green]env `{env}` is ready[/green]: `datacody apply --env {env}` promotes it"
                )
            if as_json:
                typer.echo(json.dumps(the_plan.to_json(), indent=2))
        if markdown is not None:
            markdown.write_text(report, encoding="utf-8")
        if failed:
            raise typer.Exit(1)
