"""Which event-log records an environment build (`plan --env NAME`) wrote, so prod skips them.

An environment builds through the same run path as prod, so its materializations and check
evaluations land in the same Dagster instance. They are candidates, not prod's batches: prod's
history and baselines, verdicts, suggestions, false-alarm budgets and optimizer signals read
the event log through these two predicates and leave environment records out.

- a materialization built in an environment carries ``datacody/env_build`` in its metadata;
- a check evaluation belongs to its run, and an environment's run carries the tag ``datacody/env``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from datacody_dagster.instance import ENV_BUILD_KEY, ENV_TAG


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
