"""The headless CLI run's step waits for the DuckDB pool within `--wait-timeout`: when another
run takes the pool between the CLI's pre-run wait and the step's claim, the run stops past the
bound naming the holder, instead of waiting forever (a real Dagster instance, a real in-process
run, a real slot held by a live run; a real project through `materialize_project`)."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest

from datacody_dagster.emit.dagster import DUCKDB_POOL
from datacody_dagster.errors import DatacodyError
from datacody_dagster.runtime.dead_runs import pool_holders, run_tags
from datacody_dagster.runtime.inprocess_pool_wait import bounded_pool_waits
from tests.recovery.test_dead_runs import _started_run, instance

__all__ = ["instance"]


@dg.asset(pool=DUCKDB_POOL)
def writes() -> int:
    return 1


def test_an_in_process_step_blocked_on_the_pool_gives_up_naming_the_holder(
    instance: dg.DagsterInstance,
) -> None:
    from dagster._core.execution.plan import active
    from dagster._core.executor import in_process

    original = in_process.inprocess_execution_iterator
    holder = _started_run(instance, run_tags())  # this process: alive, holds the only slot
    started = time.monotonic()
    with pytest.raises(DatacodyError) as stopped, bounded_pool_waits(1.0):
        dg.materialize([writes], instance=instance, raise_on_error=False)
    assert time.monotonic() - started < 30
    text = str(stopped.value)
    assert f"pool `{DUCKDB_POOL}`" in text and "the run gives up" in text, text
    assert holder[:8] in text and "--wait-timeout" in text, text
    (run,) = [r for r in instance.get_runs() if r.run_id != holder]
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert [h.run_id for h in pool_holders(instance, DUCKDB_POOL)] == [holder]  # untouched, ours freed
    assert in_process.inprocess_execution_iterator is original  # Dagster's own is back
    assert active.CONCURRENCY_CLAIM_MESSAGE_INTERVAL == 300
    # The holder gone, the same bounded run goes through.
    instance.event_log_storage.free_concurrency_slots_for_run(holder)
    with bounded_pool_waits(1.0):
        assert dg.materialize([writes], instance=instance, raise_on_error=False).success


def test_materialize_fails_within_its_wait_timeout_when_the_pool_is_taken_after_its_pre_run_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dagster_home: Path
) -> None:
    import datacody_dagster.runtime.dead_runs as dead_runs
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.emit.dagster import duckdb_pool
    from datacody_dagster.instance import project_instance
    from datacody_dagster.runtime.materialize import materialize_project
    from tests.envs.helpers import shop_project

    root = shop_project(tmp_path / "p")
    project = compile_project(root)
    pool = duckdb_pool(project)
    taken: list[str] = []

    def taken_right_after(instance: dg.DagsterInstance, name: str, *args: object, **kwargs: object) -> None:
        """The pre-run wait finds the pool free; another live run takes it just after."""
        assert name == pool
        taken.append(_started_run(instance, run_tags()))

    monkeypatch.setattr(dead_runs, "wait_for_pool", taken_right_after)
    started = time.monotonic()
    with pytest.raises(DatacodyError) as stopped:
        materialize_project(root, project=project, wait_timeout_s=2.0)
    assert time.monotonic() - started < 60
    text = str(stopped.value)
    assert taken and taken[0][:8] in text and f"pool `{pool}`" in text and "--wait-timeout" in text, text
    instance = project_instance(root)
    assert [h.run_id for h in pool_holders(instance, pool)] == taken
    # The stand-in holder is this process (alive): free its slot, or a later test of this
    # session waits for it.
    instance.event_log_storage.free_concurrency_slots_for_run(taken[0])
