"""Which event-log records an environment build (`plan --env NAME`) wrote, so prod skips them.

An environment builds through the same run path as prod, so its materializations and check
evaluations land in the same Dagster instance. They are candidates, not prod's batches: prod's
history and baselines, verdicts, suggestions, false-alarm budgets and optimizer signals read
the event log through these two predicates and leave environment records out.

- a materialization built in an environment carries ``datacody/env_build`` in its metadata;
- a check evaluation belongs to its run, and an environment's run carries the tag ``datacody/env``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from datacody_dagster.run_markers import ENV_BUILD_KEY, ENV_TAG


def is_env_materialization(metadata: Mapping[str, Any] | None) -> bool:
    """True when a materialization's metadata says an environment, not prod, built it."""
    value = (metadata or {}).get(ENV_BUILD_KEY)
    return getattr(value, "value", value) is not None


def env_run_ids(instance: Any, run_ids: Iterable[str]) -> set[str]:
    """The runs among ``run_ids`` that built an environment (one query for the lot)."""
    from dagster import RunsFilter

    wanted = sorted({r for r in run_ids if r})
    if not wanted:
        return set()
    records = instance.get_run_records(RunsFilter(run_ids=wanted))
    return {rec.dagster_run.run_id for rec in records if ENV_TAG in (rec.dagster_run.tags or {})}


def materializations_where(
    instance: Any, key: Any, limit: int, keep: Callable[[Any], bool], page: int = 100
) -> list[Any]:
    """The latest ``limit`` materialization records of asset ``key`` whose materialization
    ``keep`` accepts, newest first, paging back through the event log with its cursor (so the
    records left out never shrink the window)."""
    out: list[Any] = []
    cursor: str | None = None
    while len(out) < limit:
        result = instance.fetch_materializations(key, limit=max(page, limit - len(out)), cursor=cursor)
        for rec in result.records:
            mat = rec.asset_materialization
            if mat is not None and keep(mat):
                out.append(rec)
                if len(out) == limit:
                    break
        if not result.has_more or not result.records:
            break
        cursor = result.cursor
    return out


def prod_materializations(instance: Any, key: Any, limit: int) -> list[Any]:
    """Prod's latest ``limit`` materialization records of asset ``key``, newest first: any
    number of `plan --env` builds since prod's last build cannot push them out of the window."""
    return materializations_where(instance, key, limit, lambda mat: not is_env_materialization(mat.metadata))


def latest_prod_materialization(instance: Any, key: Any) -> Any | None:
    """Prod's latest materialization record of asset ``key`` (environment builds skipped), or None."""
    latest = instance.get_latest_materialization_event(key)
    if latest is None:
        return None
    mat = latest.asset_materialization
    if mat is not None and not is_env_materialization(mat.metadata):
        return latest
    found = prod_materializations(instance, key, 1)
    return found[0].event_log_entry if found else None


def prod_check_executions(instance: Any, check_key: Any, limit: int, page: int = 100) -> list[Any]:
    """The latest ``limit`` execution records of check ``check_key`` in prod's runs, newest first
    (planned ones included; runs of environment builds skipped, paging past them)."""
    out: list[Any] = []
    cursor: int | None = None
    storage = instance.event_log_storage
    while len(out) < limit:
        want = max(page, limit - len(out))
        records = storage.get_asset_check_execution_history(check_key, limit=want, cursor=cursor)
        envs = env_run_ids(instance, (r.run_id for r in records))
        for rec in records:
            if rec.run_id not in envs:
                out.append(rec)
                if len(out) == limit:
                    break
        if len(records) < want:
            break
        cursor = records[-1].id
    return out
