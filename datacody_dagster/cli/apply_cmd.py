"""`datacody apply --env NAME` and `datacody rollback`: promote an environment, undo it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors

if TYPE_CHECKING:
    from datacody_dagster.compiler import CompiledProject


def _say(text: str) -> None:
    err_console.print(text, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def apply(
        env: Annotated[str, typer.Option("--env", help="Environment built by `datacody plan --env`.")],
        project_dir: ProjectDir = Path("."),
        wait_timeout: Annotated[
            float, typer.Option(help="Seconds to wait for prod's runs (a materialize) to finish first.")
        ] = 600.0,
    ) -> None:
        """Make prod hold what ENV holds for its plan: files linked into place, no recompute."""
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.envs.apply import apply_env
        from datacody_dagster.envs.recovery import recover_apply
        from datacody_dagster.versioning.env_state import check_env_name, load_state

        project = compile_project(project_dir)
        recover_apply(project, wait_timeout, _say, f"datacody apply --env {env}")
        promoted = apply_env(project, check_env_name(env), wait_timeout, say=_say)
        state = load_state(project.root, env)
        plan_id = state.plan_id if state else ""
        table = Table(title=f"applied plan {plan_id} from env `{env}`", title_justify="left")
        for col in ("asset", "prod output", "DVC md5"):
            table.add_column(col)
        for p in promoted:
            table.add_row(p.asset, p.path, p.md5 or "")
        console.print(table)
        console.print(f"undo with `datacody rollback --plan {plan_id}`")

    @app.command()
    @handle_errors
    def rollback(
        asset: Annotated[str | None, typer.Argument(help="Asset to restore.")] = None,
        to: Annotated[
            str | None, typer.Option("--to", help="Version number or hash prefix (default: the previous).")
        ] = None,
        plan: Annotated[
            str | None, typer.Option("--plan", help="Restore every asset of an applied plan.")
        ] = None,
        project_dir: ProjectDir = Path("."),
        wait_timeout: Annotated[
            float, typer.Option(help="Seconds to wait for prod's runs (a materialize, an apply) to finish.")
        ] = 600.0,
        discard_journal: Annotated[
            bool,
            typer.Option(
                "--discard-journal",
                help="Give up an interrupted apply that cannot be finished: put back from DVC what it "
                "had replaced, remove its journal, say what prod holds.",
            ),
        ] = False,
    ) -> None:
        """Restore prod from DVC: ASSET to an earlier version, or all assets of a plan."""
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.envs.apply import recover_holding_lock
        from datacody_dagster.envs.rollback import rollback_asset, rollback_plan
        from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

        if discard_journal:
            if asset is not None or plan is not None:
                raise DatacodyError(
                    Diagnostic(
                        RUNTIME,
                        "--discard-journal takes no ASSET or --plan",
                        hint="run `datacody rollback --discard-journal` alone, then roll back what you want",
                    )
                )
            _discard(compile_project(project_dir), wait_timeout)
            return
        if (asset is None) == (plan is None):
            raise DatacodyError(
                Diagnostic(
                    RUNTIME, "name an ASSET or a --plan ID (one of them)", hint="datacody rollback --help"
                )
            )
        from datacody_dagster.envs.lock import env_lock
        from datacody_dagster.versioning.env_state import PROD

        project = compile_project(project_dir)
        # not while an apply or a prod materialize runs; an interrupted apply is finished first
        with env_lock(project.root, PROD, "datacody rollback", wait_s=wait_timeout, say=_say):
            recover_holding_lock(project)
            if plan is not None:
                for name, md5 in rollback_plan(project, plan):
                    console.print(f"{name}: " + (f"restored {md5}" if md5 else "removed (the plan added it)"))
                return
            assert asset is not None
            version, md5 = rollback_asset(project, asset, to)
        console.print(f"{asset}: restored v{version} ({md5[:12]})")


def _discard(project: CompiledProject, wait_timeout: float) -> None:
    """`rollback --discard-journal`: discard the journal and print what prod holds now."""
    from datacody_dagster.envs.discard import discard_journal

    done = discard_journal(project, wait_timeout, _say)
    if done.finished is not None:
        console.print(
            f"the interrupted apply of plan {done.plan_id} could still be finished: {done.finished}; "
            "nothing was discarded. prod's writers work again."
        )
        return
    title = f"discarded the interrupted apply of plan {done.plan_id or '?'}" + (
        f" from env `{done.env}`" if done.env else ""
    )
    table = Table(title=title + f" (phase: {done.phase or '?'})", title_justify="left")
    for col in ("asset", "prod output", "the apply had", "prod holds now", "md5 now"):
        table.add_column(col)
    for a in done.assets:
        table.add_row(a.asset, a.path, a.was, a.now, (a.md5 or "")[:12])
    console.print(table)
    for path in done.leftovers:
        console.print(f"removed staged copy {path}")
    for note in done.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]", highlight=False)
    console.print(f"journal removed; report: {done.record}. prod's writers work again.")
