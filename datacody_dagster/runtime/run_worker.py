"""The process that runs a run, whichever launcher started it: record it, judge it, say who blocks it.

Runs the CLI starts carry their pid tags from creation (``dead_runs.run_tags``). A run launched
from the UI is executed by a run worker that the code server spawns, whose pid nobody records;
killed, it would stay STARTED forever and keep its pool slots. Here:

- :func:`datacody_multiprocess_executor` (the code location's executor) records the run worker's
  pid, start time and host as run tags before the first step starts, and when a step waits for
  a pool it says which run holds the pool and since when (Dagster only names the pool);
- :class:`DatacodyRunLauncher` (``run_launcher`` in the instance's dagster.yaml) is Dagster's
  default launcher plus a worker health check from those tags, so the daemon's run monitoring
  marks a run whose worker is gone as failed (and its slots are freed after
  ``free_slots_after_run_end_seconds``). ``datacody materialize`` does the same before it runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import dagster as dg
from dagster._core.definitions.executor_definition import (
    MULTI_PROC_CONFIG,
    _core_multiprocess_executor_creation,
    multiple_process_executor_requirements,
)
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.executor.base import Executor
from dagster._core.executor.multiprocess import MultiprocessExecutor
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._serdes import serialize_value

from datacody_dagster.errors import DatacodyError
from datacody_dagster.runtime import step_fork
from datacody_dagster.runtime.assets import DBT_STEP_KEY, step_key
from datacody_dagster.runtime.dbt_worker import dbt_worker, take_early
from datacody_dagster.runtime.dead_runs import (
    HOST_TAG,
    PID_TAG,
    describe,
    kill_run_processes,
    pool_holders,
    process_gone,
    recover_dead_runs,
    run_tags,
    step_env,
    worker_tags,
)
from datacody_dagster.runtime.paced_pool_wait import pace_pool_waits
from datacody_dagster.runtime.pool_wait import PoolWaits, blocked_reminders_every, pool_wait_timeout
from datacody_dagster.runtime.sqlite_tuning import fast_event_log

if TYPE_CHECKING:
    from dagster._core.execution.context.system import PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan
    from dagster._core.execution.plan.step import ExecutionStep
    from dagster._core.execution.retries import RetryMode
    from dagster._core.execution.step_dependency_config import StepDependencyConfig

    from datacody_dagster.compiler import CompiledProject

# The run's code location, serialized, for the step forkserver (runtime/step_server.py).
POINTER_ENV = "DATACODY_STEP_DEFINITIONS"
BLOCKED_PREFIXES = ("Step blocked by limit for pool", "Step still blocked by limit for pool")


def record_run_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Tag ``run`` with this process (the run worker) unless it already carries these tags."""
    mine = run_tags()
    if any(run.tags.get(k) != v for k, v in mine.items()):
        instance.add_run_tags(run.run_id, mine)
    # Step processes inherit them: recovery finds a dead worker's orphaned steps by them.
    os.environ.update(step_env(instance, run.run_id))


def publish_definitions(plan_context: PlanOrchestrationContext) -> None:
    """Name the run's code location for the step forkserver, which this process starts next."""
    pointer = plan_context.reconstructable_job.repository.pointer
    os.environ[POINTER_ENV] = serialize_value(cast("Any", pointer))  # a serdes NamedTuple


def _blocked_pool(event: DagsterEvent) -> str | None:
    if event.event_type != DagsterEventType.ENGINE_EVENT or not event.message:
        return None
    if not event.message.startswith(BLOCKED_PREFIXES):
        return None
    return event.message.rsplit(" ", 1)[-1]


class DatacodyExecutor(Executor):
    """Dagster's multiprocess executor, plus the run-worker tags and named pool holders; its steps
    forked from the run worker where that is safe (``runtime/step_fork.py``)."""

    def __init__(self, inner: Executor, project: CompiledProject | None = None) -> None:
        self._inner = inner
        self._project = project

    @property
    def retries(self) -> RetryMode:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._inner.step_dependency_config

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        instance = plan_context.instance
        home = Path(instance.root_directory)
        record_run_worker(instance, plan_context.dagster_run)
        waits = PoolWaits(pool_wait_timeout(plan_context.dagster_run))
        pace_pool_waits()  # a wait for a pool with no step running must not spin a core
        forking = getattr(self._inner, "_start_method", None) == "fork"
        with contextlib.ExitStack() as stack:
            early = take_early()  # started while this process built the definitions
            if forking and self._project is not None and DBT_STEP_KEY in execution_plan.step_keys_to_execute:
                # dbt imports and parses in its worker, on the other core; the dbt step, forked
                # from here, inherits the worker's pipes (as in the CLI's run)
                stack.enter_context(dbt_worker(self._project, started=early, file_log=True, shared=True))
            elif early is not None:  # this run needs none
                early.close()
            if forking:  # steps tune their own event log after the fork (step_fork.py)
                step_fork.prepare(home, plan_context.run_id)
                stack.callback(step_fork.finish, home)
                stack.enter_context(fast_event_log(home, hold=False))  # no fsync per event here
            else:  # the forkserver builds the definitions and tunes the steps' event log
                publish_definitions(plan_context)
                stack.enter_context(fast_event_log(home))
            stack.enter_context(blocked_reminders_every(waits.reminder_s))  # pool_wait.py
            yield from self._execute(plan_context, execution_plan, waits, forking)

    def _execute(
        self,
        plan_context: PlanOrchestrationContext,
        execution_plan: ExecutionPlan,
        waits: PoolWaits,
        forking: bool,
    ) -> Iterator[DagsterEvent]:
        instance = plan_context.instance
        imports = _imports_while_dbt_runs(self._project, execution_plan) if forking else []
        inner = self._inner.execute(plan_context, execution_plan)
        for event in inner:
            yield event
            if imports and event.event_type == DagsterEventType.STEP_START and event.step_key == DBT_STEP_KEY:
                # This process only waits while the dbt step runs; the steps forked after it
                # (the export) find MetricFlow imported. In this thread, between events: no fork
                # happens during the import.
                step_fork.import_now(imports)
                imports = []
            pool = _blocked_pool(event)
            if pool is None:
                continue
            recover_dead_runs(instance)  # a dead holder's slot is freed now, not after monitoring
            holders = [h for h in pool_holders(instance, pool) if h.run_id != plan_context.run_id]
            if holders and event.step_key and event.step_key not in waits.since:
                step = cast("ExecutionStep", execution_plan.get_step_by_key(event.step_key))
                yield DagsterEvent.engine_event(
                    plan_context.for_step(step),
                    f"pool `{pool}` is held by {describe(holders)}",
                    EngineEventData(metadata={"pool": dg.MetadataValue.pool(pool)}),
                )
            if event.step_key:
                try:
                    waits.blocked(pool, event.step_key, holders)  # raises past the bound
                except DatacodyError as err:
                    yield from _stop_steps(inner, err)


def _imports_while_dbt_runs(project: CompiledProject | None, execution_plan: ExecutionPlan) -> list[str]:
    """Modules that steps after the dbt step import, when this run has such steps and forks them."""
    if project is None or DBT_STEP_KEY not in execution_plan.step_keys_to_execute:
        return []
    keys = set(execution_plan.step_keys_to_execute)
    if any(n.kind == "export" and step_key(n) in keys for n in project.plan.nodes):
        from datacody_dagster.semantic.engine import ENGINE_MODULES

        return list(ENGINE_MODULES)
    return []


def _stop_steps(inner: Iterator[DagsterEvent], err: DatacodyError) -> Iterator[DagsterEvent]:
    """Fail the run with ``err`` from inside Dagster's executor, then raise it.

    Raised out here, the executor would only be closed (``GeneratorExit``), which skips the
    path that terminates its running steps: they would finish, publish and record after the run
    is marked failed. Thrown in, the executor stops them and re-raises; its events pass on."""
    if not isinstance(inner, Generator):
        raise err
    try:
        event = inner.throw(err)  # raises at once when no step is running
    except StopIteration:  # an executor that swallowed it and returned: the run still fails
        raise err from None
    while True:
        yield event
        event = next(inner, None)
        if event is None:
            raise err


@dg.executor(
    name="datacody_multiprocess",
    config_schema=MULTI_PROC_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def datacody_multiprocess_executor(init_context: dg.InitExecutorContext) -> Executor:
    """Each step in its own process (Dagster's multiprocess executor), run worker recorded."""
    return DatacodyExecutor(_multiprocess(init_context.executor_config, init_context.instance))


def multiprocess_executor_for(project: CompiledProject) -> dg.ExecutorDefinition:
    """:func:`datacody_multiprocess_executor` for ``project``: the run worker starts its dbt
    worker (``runtime/dbt_worker.py``) for the steps it forks."""

    @dg.executor(
        name="datacody_multiprocess",
        config_schema=MULTI_PROC_CONFIG,
        requirements=multiple_process_executor_requirements(),
    )
    def _executor(init_context: dg.InitExecutorContext) -> Executor:
        return DatacodyExecutor(_multiprocess(init_context.executor_config, init_context.instance), project)

    return _executor


def _multiprocess(config: Mapping[str, Any], instance: dg.DagsterInstance) -> Executor:
    """Dagster's multiprocess executor. With no ``start_method`` configured, steps are forked
    from the run worker where that is safe (``step_fork.forks_safely``), else started by a
    forkserver that imports what steps need once per run (``step_fork.STEP_PRELOAD``)."""
    inner = _core_multiprocess_executor_creation(config)
    if config.get("start_method"):
        return inner
    # Dagster's config offers spawn and forkserver; its executor takes any start method of
    # multiprocessing (and documents fork), so the choice is made here, not in run config.
    fork = step_fork.forks_safely(instance)
    return MultiprocessExecutor(
        max_concurrent=config.get("max_concurrent"),
        tag_concurrency_limits=config.get("tag_concurrency_limits"),
        retries=inner.retries,
        start_method="fork" if fork else "forkserver",
        explicit_forkserver_preload=None if fork else list(step_fork.STEP_PRELOAD),
        step_dependency_config=inner.step_dependency_config,
    )


class DatacodyRunLauncher(DefaultRunLauncher):
    """Dagster's default launcher whose run-worker health comes from the run's pid tags."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        tags = worker_tags(self._instance, run)
        if PID_TAG not in tags:
            # Not recorded yet (the worker is starting) or not ours: never fail on a guess.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker not recorded")
        if process_gone(tags):
            # The run is failed next: its orphaned step processes must not write on.
            kill_run_processes(self._instance, {run.run_id})
            return CheckRunHealthResult(WorkerStatus.FAILED, _gone(tags))
        return CheckRunHealthResult(WorkerStatus.RUNNING)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> DatacodyRunLauncher:
        return cls(inst_data=inst_data)


def _gone(tags: dict[str, str]) -> str:
    return (
        f"the run worker process (pid {tags.get(PID_TAG)} on {tags.get(HOST_TAG)}) is gone "
        "(killed or crashed)"
    )
