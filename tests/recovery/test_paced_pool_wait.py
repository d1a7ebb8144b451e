"""A UI-style run whose only step waits for a pool another run holds waits without spinning a core."""

from __future__ import annotations

import resource
import time
import uuid
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from datacody_dagster.emit.dagster import DUCKDB_POOL
from datacody_dagster.instance import ensure_instance_home
from datacody_dagster.runtime.dead_runs import run_tags
from datacody_dagster.runtime.pool_wait import POOL_WAIT_TIMEOUT_TAG


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_a_run_waiting_for_a_held_pool_does_not_spin(tmp_path: Path) -> None:
    from tests.recovery.pool_wait_job import pool_job

    instance = dg.DagsterInstance.from_config(str(ensure_instance_home(tmp_path / ".dagster_home")))
    holder = str(uuid.uuid4())  # a live run (this process) holds the pool's only slot
    instance.add_run(
        DagsterRun(job_name="__ASSET_JOB", run_id=holder, status=dg.DagsterRunStatus.STARTED, tags=run_tags())
    )
    instance.event_log_storage.set_concurrency_slots(DUCKDB_POOL, 1)
    assert instance.event_log_storage.claim_concurrency_slot(DUCKDB_POOL, holder, "step").is_claimed
    cpu, started = _cpu_s(), time.monotonic()
    result = dg.execute_job(
        dg.reconstructable(pool_job),
        instance=instance,
        tags={POOL_WAIT_TIMEOUT_TAG: "4"},
        raise_on_error=False,
    )
    wall, used = time.monotonic() - started, _cpu_s() - cpu
    assert not result.success and wall >= 4  # it waited the bound, then gave up
    # Dagster's loop alone spun: about one CPU-second per second of the wait
    assert used < 0.5 * wall, f"{used:.2f} CPU-s over {wall:.2f} s"
