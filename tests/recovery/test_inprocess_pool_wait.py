"""The headless CLI run's step waits for the DuckDB pool within `--wait-timeout`: when another
run takes the pool between the CLI's pre-run wait and the step's claim, the run stops past the
bound naming the holder, instead of waiting forever (a real Dagster instance, a real in-process
run, a real slot held by a live run; a real project through `materialize_project`)."""

from __future__ import annotations

import threading
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
    assert active.CONCURRENCY_CLAIM_MESSAGE_INTERVAL == 300  # Dagster's module globals untouched
    # The holder gone, the same bounded run goes through.
    instance.event_log_storage.free_concurrency_slots_for_run(holder)
    with bounded_pool_waits(1.0):
        assert dg.materialize([writes], instance=instance, raise_on_error=False).success
    assert dg.materialize([writes], instance=instance).success  # no bound: Dagster's own path


def test_two_in_process_runs_in_threads_of_one_process_each_keep_their_own_bound(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both bounds are in force before either run starts: a bound swapped into a module global
    would stop both runs at the shorter one (or leave one installed after its block)."""
    # Dagster 1.13.27 calls logging.config.dictConfig at every run's start, even with no
    # `python_logs` config: it holds logging's module lock while taking every handler's lock,
    # so a run starting in one thread deadlocks with a run logging in another (seen here).
    # Without that config its result is [], which is what this returns, without dictConfig.
    assert not instance.get_python_log_dagster_handler_config()
    monkeypatch.setattr(dg.DagsterInstance, "get_yaml_python_handlers", lambda self: [])
    holder = _started_run(instance, run_tags())
    both_bounded = threading.Barrier(2)
    outcome: dict[float, tuple[float, str]] = {}

    def run_with(bound: float) -> None:
        started = time.monotonic()
        try:
            with bounded_pool_waits(bound):
                both_bounded.wait(timeout=30)
                dg.materialize([writes], instance=instance, raise_on_error=False, tags={"bound": str(bound)})
        except DatacodyError as err:
            outcome[bound] = (time.monotonic() - started, str(err))

    threads = [threading.Thread(target=run_with, args=(b,)) for b in (1.0, 4.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(outcome) == {1.0, 4.0}, outcome
    short, long = outcome[1.0], outcome[4.0]
    assert short[0] < long[0] - 1.5 and "waited 1s" in short[1], (short, long)
    assert long[0] >= 4.0 and "waited 4s" in long[1], long
    for _, text in (short, long):
        assert holder[:8] in text and "the run gives up" in text, text
    runs = [r for r in instance.get_runs() if r.run_id != holder]
    assert sorted(r.tags["bound"] for r in runs) == ["1.0", "4.0"]
    assert all(r.status == dg.DagsterRunStatus.FAILURE for r in runs)
    assert [h.run_id for h in pool_holders(instance, DUCKDB_POOL)] == [holder]
    instance.event_log_storage.free_concurrency_slots_for_run(holder)


def test_a_step_waiting_for_the_pool_does_not_spin_a_core(instance: dg.DagsterInstance) -> None:
    """Dagster's in-process executor never sleeps while a claim is pending (a core at 100%:
    5.2 CPU-s over a 5.3 s wait, bench/pool_wait_cpu.py); the bounded run sleeps until a claim,
    the bound or a look for dead holders is due."""
    holder = _started_run(instance, run_tags())
    dg.materialize([dg.asset(name="warm")(lambda: 1)], instance=instance)  # first-run costs out of the way
    wall, cpu = time.monotonic(), time.process_time()
    with pytest.raises(DatacodyError), bounded_pool_waits(3.0):
        dg.materialize([writes], instance=instance, raise_on_error=False)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    assert wall >= 3.0
    assert cpu < 0.3 * wall, f"{cpu:.2f} CPU-s over a {wall:.2f} s wait"
    instance.event_log_storage.free_concurrency_slots_for_run(holder)


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


def test_the_dagster_internals_the_bound_relies_on_are_where_it_expects() -> None:
    """Private Dagster API (pinned 1.13.27): an upgrade that moves it fails here, by name."""
    import inspect

    from dagster._core.execution.plan import active, execute_plan
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
    from dagster._core.executor import in_process

    from datacody_dagster.runtime import inprocess_pool_wait

    def params(fn: object) -> list[str]:
        return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]

    # the executor looks its iterator up in its module at run time, so a dispatcher put there once
    # is used by every run
    assert "iterator=inprocess_execution_iterator" in inspect.getsource(in_process.InProcessExecutor.execute)
    dagsters = inprocess_pool_wait._dagster_iterator or in_process.inprocess_execution_iterator
    for fn in (dagsters, execute_plan.inner_plan_execution_iterator):
        assert params(fn) == ["job_context", "execution_plan", "instance_concurrency_context"]
    assert params(InstanceConcurrencyContext.claim) == [
        "self",
        "concurrency_key",
        "step_key",
        "step_priority",
    ]
    init = inspect.getsource(InstanceConcurrencyContext.__init__)
    assert all(
        f"self.{a} =" in init for a in ("_instance", "_run_id", "_pending_timeouts", "_pending_claims")
    )
    # the spin the bounded context avoids: this never returns a positive interval
    assert "min([0, *" in inspect.getsource(InstanceConcurrencyContext.interval_to_next_pending_claim_check)
    assert "interval_to_next_pending_claim_check()" in inspect.getsource(
        active.ActiveExecution.sleep_interval
    )
