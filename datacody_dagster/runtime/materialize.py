"""Headless materialization through Dagster (used by `datacody materialize` and tests)."""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import dagster as dg

from datacody_dagster.compiler import CompiledProject, compile_project
from datacody_dagster.emit.files import sync_generated_files
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.instance import project_dagster_home, project_instance
from datacody_dagster.runtime.dead_runs import run_tags
from datacody_dagster.runtime.env_run import env_tags, is_prod
from datacody_dagster.runtime.event_log_storage import batched_event_writes
from datacody_dagster.runtime.events import ProgressFactory, instance_listener
from datacody_dagster.runtime.import_later import import_later
from datacody_dagster.runtime.source_contract import ACCEPT_SCHEMA_CHANGE_TAG
from datacody_dagster.runtime.sqlite_tuning import fast_event_log
from datacody_dagster.runtime.summary import AssetRow, MaterializeSummary
from datacody_dagster.runtime.up_to_date import UP_TO_DATE, decide
from datacody_dagster.semantic.engine import ENGINE_MODULES
from datacody_dagster.versioning.apply_journal import writing_prod


def _meta_value(meta: dict, key: str) -> object:  # type: ignore[type-arg]
    value = meta.get(key)
    return getattr(value, "value", value)


@contextlib.contextmanager
def _quiet_logging(verbose: bool) -> Iterator[None]:
    """Keep Dagster's and dbt's console logs out of the CLI unless asked (--verbose)."""
    if verbose:
        yield
        return
    names = ("dagster", "dagster_dbt", "dbt", "dvc")
    previous = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for n, level in previous.items():
            logging.getLogger(n).setLevel(level)


def _failure_text(event: dg.DagsterEvent) -> str:
    """The user-facing reason of a step failure: the innermost error's message."""
    data = event.step_failure_data
    error = data.error if data else None
    if error is None:
        return "step failed"
    while error.cause is not None:
        error = error.cause
    if data and data.user_failure_data and data.user_failure_data.description:
        return data.user_failure_data.description.strip()
    return error.message.strip() or error.cls_name or "step failed"


def _before_run(
    project: CompiledProject,
    instance: dg.DagsterInstance,
    needs_pool: bool,
    wait_timeout_s: float,
    say: Callable[[str], None] | None,
) -> None:
    """Recover what dead runs left (their status, slots, temp files); wait for the writer pool."""
    from datacody_dagster.emit.dagster import DUCKDB_POOL, duckdb_pool
    from datacody_dagster.runtime.dead_runs import pool_holders, recover_dead_runs, wait_for_pool
    from datacody_dagster.versioning.recovery import clean_temp_outputs

    for run in recover_dead_runs(instance):
        if say is not None:
            say(f"run {run.run_id[:8]} marked failed: {run.reason}")
    # dbt's fixed-name candidates belong to whoever holds the writer pool: only when nobody does.
    # (The folders cleaned are prod's, so prod's pool decides, whichever env this run builds.)
    clean_temp_outputs(project.root, dbt_stages=not pool_holders(instance, DUCKDB_POOL))
    if needs_pool:  # an environment's DuckDB file is its own: it waits for its own writers only
        wait_for_pool(instance, duckdb_pool(project), wait_timeout_s, say)


def materialize_project(
    root: Path,
    select: str | None = None,
    progress_for: ProgressFactory | None = None,
    verbose: bool = False,
    force: bool = False,
    wait_timeout_s: float = 600.0,
    say: Callable[[str], None] | None = None,
    accept_schema_change: bool = False,
    project: CompiledProject | None = None,
) -> MaterializeSummary:
    """Compile, then materialize the selection in-process against the project's instance.

    Assets whose code, checks, inputs and output are unchanged since their last materialization
    are not rebuilt (``force`` rebuilds the whole selection).
    Runs of this instance whose process died are marked failed and their pool slots freed
    first; when the DuckDB writer pool is held by a live run, ``say`` tells which one and the
    run waits up to ``wait_timeout_s`` before failing with that explanation.
    ``accept_schema_change``: sources may change their columns in this run (see
    ``runtime/source_contract.py``). ``project``: ``root`` already compiled by the caller.
    ``progress_for(names)``: a watcher told every event of the run (the CLI draws progress).
    A prod run holds prod's lock shared (other prod runs go on side by side): it waits up to
    ``wait_timeout_s`` for an `apply` or `rollback` that is writing prod, and they wait for it
    (``versioning/env_locks.py``).
    """
    project = project if project is not None else compile_project(root)
    # An environment's build holds its own env's lock instead (envs/build.py).
    # Taken before the run waits for the pool or opens DuckDB: it holds nothing yet, so it may
    # queue behind a waiting `apply` for as long as it waits (versioning/env_locks.py).
    held = (
        writing_prod(
            project.root, "datacody materialize", wait_timeout_s, say, shared=True, holds_nothing=True
        )
        if is_prod(project)
        else contextlib.nullcontext()
    )
    with held:
        from datacody_dagster.emit.dagster import asset_name
        from datacody_dagster.runtime.code_location import run_definitions

        started = time.monotonic()
        sync_generated_files(project)
        defs = run_definitions(project)
        instance = project_instance(project.root)
        assets = list(defs.assets or [])
        try:
            selection = dg.AssetSelection.from_string(select) if select else dg.AssetSelection.all()
            selected_keys = selection.resolve(defs.resolve_asset_graph())
        except Exception as exc:  # dagster raises several types for bad selection strings
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"invalid --select `{select}`: {exc}",
                    None,
                    "use asset names, `group:NAME`, `name+` (downstream) or `+name` (upstream)",
                )
            ) from None
        if not selected_keys:
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"--select `{select}` matches no asset",
                    None,
                    "run `datacody validate` to list assets",
                )
            )
        dbt_names = {n.name for n in project.plan.nodes if n.runs_in_dbt}
        needs_pool = any(asset_name(k) in dbt_names for k in selected_keys)
        _before_run(project, instance, needs_pool, wait_timeout_s, say)
        log_level = "INFO" if verbose else "CRITICAL"
        plan_names = [n.name for n in project.plan.nodes]
        names = sorted(
            (asset_name(k) for k in selected_keys),
            key=lambda n: plan_names.index(n) if n in plan_names else 0,
        )
        # An environment builds its whole rebuild list: up to date is judged against prod only.
        force = force or not is_prod(project)
        verdicts = decide(project, instance, [n for n in names if n in plan_names], force=force)
        up_to_date = {n for n, v in verdicts.items() if not v.rebuild}
        names = [n for n in names if n not in up_to_date]
        if not names:
            fresh = [
                AssetRow(n, UP_TO_DATE, verdicts[n].rows, None, "")
                for n in sorted(up_to_date, key=plan_names.index)
            ]
            return MaterializeSummary(rows=fresh, seconds=time.monotonic() - started)
        selected_keys = {k for k in selected_keys if asset_name(k) not in up_to_date}
        if any(project.plan.node(n).kind == "export" for n in names if n in plan_names):
            import_later(ENGINE_MODULES)  # while dbt runs in the worker, not after it
        # Only now: a run with nothing to rebuild never opens DVC (an environment's run never does).
        if project.settings.dvc.enabled and is_prod(project):
            from datacody_dagster.versioning import ensure_dvc_repo

            ensure_dvc_repo(project.root, project.settings.dvc)
        progress = progress_for(names) if progress_for is not None and not verbose else None
        with contextlib.ExitStack() as stack:
            if progress is not None:
                stack.enter_context(progress)
                stack.enter_context(instance_listener(instance, progress.on_event))
            stack.enter_context(_quiet_logging(verbose))
            stack.enter_context(fast_event_log(project_dagster_home(project.root)))
            from datacody_dagster.runtime.inprocess_pool_wait import bounded_pool_waits

            stack.enter_context(bounded_pool_waits(wait_timeout_s))  # a step's pool claim too
            stack.enter_context(batched_event_writes())  # the run's planned events: one transaction
            result = dg.materialize(
                cast("list[dg.AssetsDefinition]", assets),
                resources=dict(defs.resources or {}),
                instance=instance,
                selection=list(selected_keys),
                raise_on_error=False,
                tags={
                    **run_tags(),
                    **env_tags(project),
                    **({ACCEPT_SCHEMA_CHANGE_TAG: "1"} if accept_schema_change else {}),
                },
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
        summary = MaterializeSummary(run_id=result.run_id)
        materialized = {}
        for event in result.get_asset_materialization_events():
            mat = event.step_materialization_data.materialization
            if mat is not None:
                materialized[asset_name(mat.asset_key)] = dict(mat.metadata)
        check_status: dict[str, list[tuple[str, bool, str]]] = {}
        quarantined: set[str] = set()
        for ev in result.get_asset_check_evaluations():
            check_status.setdefault(asset_name(ev.asset_key), []).append(
                (ev.check_name, ev.passed, ev.severity.value)
            )
            summary.checks.setdefault(asset_name(ev.asset_key), []).append(
                (ev.check_name, ev.passed, ev.severity == dg.AssetCheckSeverity.ERROR)
            )
            if "datacody/quarantine" in (ev.metadata or {}):
                quarantined.add(asset_name(ev.asset_key))
        summary.rows.extend(
            AssetRow(n, UP_TO_DATE, verdicts[n].rows, None, "") for n in plan_names if n in up_to_date
        )
        keys = names
        failed_steps = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        for key in keys:
            checks = check_status.get(key, [])
            failed = [name for name, ok, sev in checks if not ok]
            check_text = f"{len(checks) - len(failed)}/{len(checks)} passed" if checks else ""
            if failed:
                check_text += " (failed: " + ", ".join(failed) + ")"
            if key in materialized:
                meta = materialized[key]
                rows = cast("int | None", _meta_value(meta, "dagster/row_count"))
                secs = cast("float | None", _meta_value(meta, "datacody/duration_s"))
                summary.rows.append(
                    AssetRow(
                        key,
                        "materialized",
                        int(rows) if rows is not None else None,
                        float(secs) if secs is not None else None,
                        check_text,
                    )
                )
            else:
                status = "quarantined" if key in quarantined else "skipped"
                summary.rows.append(AssetRow(key, status, None, None, check_text))
        order = {n: i for i, n in enumerate(plan_names)}
        summary.rows.sort(key=lambda r: order.get(r.asset, 0))
        for key, checks in check_status.items():
            for name, ok, sev in checks:
                if not ok and sev == "ERROR":
                    summary.errors.append(f"blocking check `{name}` failed on `{key}`")
        for event in failed_steps:
            summary.errors.append(f"step `{event.step_key}` failed: {_failure_text(event)}")
        if not result.success and not summary.errors:
            summary.errors.append("the run failed; see the Dagster event log")
        summary.seconds = time.monotonic() - started
        return summary
