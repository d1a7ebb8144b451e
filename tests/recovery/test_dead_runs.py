"""A run whose process died is marked failed and its pool slot freed before the next run; a
slot held by a live run is reported (which run, since when) and waited for with a timeout."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRun

from datacody_dagster.emit.dagster import DUCKDB_POOL
from datacody_dagster.errors import DatacodyError
from datacody_dagster.instance import ensure_instance_home
from datacody_dagster.runtime.dead_runs import (
    HOST_TAG,
    PID_STARTED_TAG,
    PID_TAG,
    pool_holders,
    recover_dead_runs,
    run_tags,
    wait_for_pool,
)


@pytest.fixture
def instance(tmp_path: Path) -> dg.DagsterInstance:
    home = ensure_instance_home(tmp_path / ".dagster_home")  # the dagster.yaml `datacody init` writes
    return dg.DagsterInstance.from_config(str(home))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags)
    )
    instance.event_log_storage.set_concurrency_slots(DUCKDB_POOL, 1)
    claim = instance.event_log_storage.claim_concurrency_slot(DUCKDB_POOL, run_id, "datacody_dbt_models")
    assert claim.is_claimed
    return run_id


def test_dead_run_is_failed_and_its_slot_freed(instance: dg.DagsterInstance) -> None:
    dead = _started_run(instance, {**run_tags(), PID_TAG: str(_dead_pid()), PID_STARTED_TAG: "1.0"})
    live = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="__ASSET_JOB", run_id=live, status=dg.DagsterRunStatus.STARTED, tags=run_tags())
    )
    foreign = str(uuid.uuid4())  # another host's run: not ours to judge
    instance.add_run(
        DagsterRun(
            job_name="__ASSET_JOB",
            run_id=foreign,
            status=dg.DagsterRunStatus.STARTED,
            tags={PID_TAG: "1", HOST_TAG: "elsewhere.example"},
        )
    )
    assert [h.run_id for h in pool_holders(instance, DUCKDB_POOL)] == [dead]

    recovered = recover_dead_runs(instance)

    assert [r.run_id for r in recovered] == [dead]
    run = instance.get_run_by_id(dead)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    failure = instance.all_logs(dead, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "is gone" in (failure[0].message or "")
    assert pool_holders(instance, DUCKDB_POOL) == []
    for other in (live, foreign):
        still = instance.get_run_by_id(other)
        assert still is not None and still.status == dg.DagsterRunStatus.STARTED
    assert recover_dead_runs(instance) == []  # idempotent


def test_slot_held_by_a_live_run_is_reported_and_times_out(instance: dg.DagsterInstance) -> None:
    holder = _started_run(instance, run_tags())  # this process: alive
    said: list[str] = []
    with pytest.raises(DatacodyError) as err:
        wait_for_pool(instance, DUCKDB_POOL, timeout_s=0.5, say=said.append, poll_s=0.1)
    assert said and holder[:8] in said[0] and "since" in said[0]
    assert holder[:8] in str(err.value) and "datacody_dbt_models" in str(err.value)
    instance.event_log_storage.free_concurrency_slots_for_run(holder)
    wait_for_pool(instance, DUCKDB_POOL, timeout_s=0.5)  # free now: returns at once


def test_launcher_health_check_judges_the_run_worker_by_its_tags(instance: dg.DagsterInstance) -> None:
    from dagster._core.launcher import WorkerStatus

    from datacody_dagster.runtime.run_worker import DatacodyRunLauncher

    launcher = instance.run_launcher
    assert isinstance(launcher, DatacodyRunLauncher)  # from the dagster.yaml `datacody init` writes
    assert launcher.supports_check_run_worker_health and instance.run_monitoring_enabled
    # A UI run is dequeued within a second, and the run concurrency limit still holds.
    assert getattr(instance.run_coordinator, "dequeue_interval_seconds", None) == 1
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
    dead_pid = _dead_pid()
    dead = DagsterRun(job_name="j", run_id=str(uuid.uuid4()), tags={**run_tags(), PID_TAG: str(dead_pid)})
    health = launcher.check_run_worker_health(dead)
    assert health.status == WorkerStatus.FAILED and f"pid {dead_pid}" in (health.msg or "")
    live = DagsterRun(job_name="j", run_id=str(uuid.uuid4()), tags=run_tags())
    assert launcher.check_run_worker_health(live).status == WorkerStatus.RUNNING
    untagged = DagsterRun(job_name="j", run_id=str(uuid.uuid4()))  # worker not recorded yet: no guess
    assert launcher.check_run_worker_health(untagged).status == WorkerStatus.RUNNING


def test_step_processes_of_a_finished_run_are_stopped(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    import os

    from datacody_dagster.runtime.dead_runs import INSTANCE_ENV, step_env, stop_orphans

    over = _started_run(instance, run_tags())
    instance.report_run_failed(instance.get_run_by_id(over), message="its worker died")
    going = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="__ASSET_JOB", run_id=going, status=dg.DagsterRunStatus.STARTED, tags=run_tags())
    )
    deleted = str(uuid.uuid4())
    instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id=deleted, status=dg.DagsterRunStatus.STARTED))
    instance.delete_run(deleted)
    assert instance.get_run_by_id(deleted) is None
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    orphan = subprocess.Popen(sleep, env={**os.environ, **step_env(instance, over)})
    working = subprocess.Popen(sleep, env={**os.environ, **step_env(instance, going)})
    # A step of this instance whose run was deleted from it: nothing will ever stop it but this.
    of_deleted = subprocess.Popen(sleep, env={**os.environ, **step_env(instance, deleted)})
    # Steps of other instances on the machine (other projects, other tests): never this one's to
    # kill, whether their run id is unknown here or equal to a finished run's.
    other = {INSTANCE_ENV: str(tmp_path)}
    unknown = subprocess.Popen(sleep, env={**os.environ, **step_env(instance, str(uuid.uuid4())), **other})
    elsewhere = subprocess.Popen(sleep, env={**os.environ, **step_env(instance, over), **other})
    try:
        assert sorted(stop_orphans(instance)) == sorted([orphan.pid, of_deleted.pid])
        assert orphan.wait(timeout=10) == -9
        assert of_deleted.wait(timeout=10) == -9
        assert working.poll() is None
        assert unknown.poll() is None
        assert elsewhere.poll() is None
    finally:
        for proc in (orphan, working, of_deleted, unknown, elsewhere):
            proc.kill()
            proc.wait()


def _ui_run(instance: dg.DagsterInstance, worker_pid: int | None, grpc: str) -> DagsterRun:
    """A run as the UI's launcher leaves it when the worker dies before recording its tags:
    STARTED, a code-server tag, and (when the worker got that far) Dagster's own pid event."""
    from dagster._core.events import EngineEventData
    from dagster._core.storage.tags import GRPC_INFO_TAG

    run = DagsterRun(
        job_name="__ASSET_JOB",
        run_id=str(uuid.uuid4()),
        status=dg.DagsterRunStatus.STARTED,
        tags={GRPC_INFO_TAG: grpc},
    )
    instance.add_run(run)
    if worker_pid is not None:
        instance.report_engine_event(
            f"Started process for run (pid: {worker_pid}).", run, EngineEventData.in_process(worker_pid)
        )
    return run


def test_ui_run_whose_worker_died_before_its_tags_is_failed(instance: dg.DagsterInstance) -> None:
    import os

    from dagster._core.events import EngineEventData
    from dagster._core.launcher import WorkerStatus

    local = '{"host": "localhost", "port": 4266}'
    dead = _ui_run(instance, _dead_pid(), local)
    alive = _ui_run(instance, os.getpid(), local)  # a worker still loading: not recorded, alive
    loading = _ui_run(instance, None, local)  # no pid anywhere yet: no guess
    remote = _ui_run(instance, _dead_pid(), '{"host": "code.example", "port": 4266}')  # not this host's
    resumed = _ui_run(instance, _dead_pid(), local)  # its first worker died, a second one runs it
    instance.report_engine_event(
        f"Started process for run (pid: {os.getpid()}).", resumed, EngineEventData.in_process(os.getpid())
    )
    launcher = instance.run_launcher
    # the daemon's tick (run monitoring) and the next command both see it
    health = launcher.check_run_worker_health(dead)
    assert health.status == WorkerStatus.FAILED and "is gone" in (health.msg or "")
    for other in (alive, loading, remote, resumed):
        assert launcher.check_run_worker_health(other).status == WorkerStatus.RUNNING

    recovered = recover_dead_runs(instance)

    assert [r.run_id for r in recovered] == [dead.run_id]
    failed = instance.get_run_by_id(dead.run_id)
    assert failed is not None and failed.status == dg.DagsterRunStatus.FAILURE
    for other in (alive, loading, remote, resumed):
        still = instance.get_run_by_id(other.run_id)
        assert still is not None and still.status == dg.DagsterRunStatus.STARTED


def test_a_reused_pid_is_not_the_worker(instance: dg.DagsterInstance) -> None:
    """The event's pid now belongs to a process created after the worker was seen alive."""
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run = _ui_run(instance, later.pid, '{"host": "localhost", "port": 4266}')
        assert [r.run_id for r in recover_dead_runs(instance)] == []  # alive, created before the event
        from datacody_dagster.runtime.dead_runs import ALIVE_AT_TAG, process_gone, worker_tags

        tags = worker_tags(instance, run)
        assert tags[PID_TAG] == str(later.pid) and not process_gone(tags)
        assert process_gone({**tags, ALIVE_AT_TAG: str(float(tags[ALIVE_AT_TAG]) - 60)})
    finally:
        later.kill()
        later.wait()


def test_a_step_waiting_for_the_pool_inside_a_run_gives_up_naming_the_holder(
    instance: dg.DagsterInstance,
) -> None:
    """A UI-style run (the code location's multiprocess executor) whose step finds the writer pool
    held by a live run: failed after the run's bound, with the holder, not blocked forever."""
    import time

    from dagster._core.execution.plan import active

    from datacody_dagster.runtime.pool_wait import POOL_WAIT_TIMEOUT_TAG
    from tests.recovery.pool_wait_job import pool_job

    holder = _started_run(instance, run_tags())  # this process: alive, holds the only slot
    started = time.monotonic()
    result = dg.execute_job(
        dg.reconstructable(pool_job),
        instance=instance,
        tags={POOL_WAIT_TIMEOUT_TAG: "2"},
        raise_on_error=False,
    )
    took = time.monotonic() - started
    assert not result.success and took < 60, took
    failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    engine = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    said = "\n".join(
        f"{e.dagster_event.message} {getattr(e.dagster_event.event_specific_data, 'error', '')}"
        for e in [*failure, *engine]
        if e.dagster_event is not None
    )
    assert "waited" in said and f"pool `{DUCKDB_POOL}`" in said, said
    assert holder[:8] in said and "datacody_dbt_models" in said, said
    assert POOL_WAIT_TIMEOUT_TAG in said  # how to wait longer
    assert active.CONCURRENCY_CLAIM_MESSAGE_INTERVAL == 300  # Dagster's default is back
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    assert [h.run_id for h in pool_holders(instance, DUCKDB_POOL)] == [holder]  # untouched


def test_a_run_failed_by_the_pool_bound_stops_its_other_running_steps(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The pool bound fails the run while a step beside the blocked one is still running: that
    step is stopped with the run, never left to finish (and publish) after the run FAILED."""
    import time

    from datacody_dagster.runtime.pool_wait import POOL_WAIT_TIMEOUT_TAG
    from tests.recovery.pool_wait_job import pool_and_slow_job

    _started_run(instance, run_tags())  # this process: alive, holds the only slot
    marker = tmp_path / "slow.done"
    seconds = 6.0
    started = time.monotonic()
    result = dg.execute_job(
        dg.reconstructable(pool_and_slow_job),
        instance=instance,
        tags={POOL_WAIT_TIMEOUT_TAG: "2"},
        run_config={"ops": {"slow": {"config": {"marker": str(marker), "seconds": seconds}}}},
        raise_on_error=False,
    )
    assert not result.success
    assert time.monotonic() - started < seconds, "the run waited for the slow step to finish"
    time.sleep(max(0.0, seconds + 3 - (time.monotonic() - started)))  # past when it would finish
    assert not marker.exists()
    steps = {
        (e.dagster_event.step_key, e.dagster_event.event_type_value)
        for e in instance.all_logs(result.run_id)
        if e.dagster_event is not None
    }
    assert ("slow", "STEP_SUCCESS") not in steps, steps
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
