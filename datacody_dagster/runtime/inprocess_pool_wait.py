"""The headless CLI run's steps wait for a pool within the run's bound, as UI runs' steps do.

``datacody materialize`` waits for the DuckDB writer pool before its run starts, with
``--wait-timeout``; another run can still take the pool between that wait and a step's claim.
The CLI's run goes through Dagster's in-process executor, which then waits for the slot without
a bound (it only repeats "Step still blocked" every five minutes), and busily: its
``InstanceConcurrencyContext.interval_to_next_pending_claim_check`` returns ``min(0, ...)``, never
a positive time, so the executor's loop never sleeps and a waiting run spins a core (measured:
5.2 CPU-s over a 5.3 s wait; ``bench/pool_wait_cpu.py``).

A run started inside ``bounded_pool_waits`` gets its own concurrency context
(``_BoundedConcurrencyContext``): it counts, per step, how long the step has been blocked
(``pool_wait.PoolWaits``, the same bound and message as the run worker's) and stops the run past
the bound, naming the holders; it frees dead holders' slots now and then; and the executor sleeps
until the next claim is due. The error is raised on leaving, once Dagster has recorded the run as
failed.

Runs in threads of one process each keep their own bound: the executor's iterator is replaced once
per process by a dispatcher (never put back) that reads the bound of the calling thread's context
(a ``ContextVar``, set by ``bounded_pool_waits``); a run without one takes Dagster's own path.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datacody_dagster.errors import DatacodyError
from datacody_dagster.runtime.dead_runs import pool_holders, recover_dead_runs
from datacody_dagster.runtime.pool_wait import PoolWaits

if TYPE_CHECKING:
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

MIN_RECOVERY_S = 1.0
"""At most one look for dead holders a second (it lists processes)."""


@dataclass
class _Bound:
    """One ``bounded_pool_waits`` block: its bound, and the errors that stopped its runs."""

    timeout_s: float
    longer: str
    stopped: list[DatacodyError] = field(default_factory=list)


_BOUND: ContextVar[_Bound | None] = ContextVar("datacody_inprocess_pool_bound", default=None)
_INSTALL = threading.Lock()
_dagster_iterator: Callable[..., Iterator[Any]] | None = None
"""Dagster's own ``inprocess_execution_iterator``, once the dispatcher replaced it."""


@contextlib.contextmanager
def bounded_pool_waits(timeout_s: float, longer: str = "`--wait-timeout SECONDS`") -> Iterator[None]:
    """While held, a step of an in-process run (started in this thread) blocked on a pool for
    ``timeout_s`` stops the run; the error (naming the pool, its holders and ``longer``) is raised
    on leaving."""
    _install_dispatcher()
    bound = _Bound(timeout_s, longer)
    token = _BOUND.set(bound)
    try:
        yield
    finally:
        _BOUND.reset(token)
    if bound.stopped:
        raise bound.stopped[0]


def _install_dispatcher() -> None:
    global _dagster_iterator
    from dagster._core.executor import in_process

    with _INSTALL:
        if in_process.inprocess_execution_iterator is not _dispatch:
            _dagster_iterator = in_process.inprocess_execution_iterator
            in_process.inprocess_execution_iterator = _dispatch  # type: ignore[assignment]


def _dispatch(
    job_context: Any,
    execution_plan: Any,
    instance_concurrency_context: InstanceConcurrencyContext | None = None,
) -> Iterator[Any]:
    """Dagster's in-process iterator, or the bounded one when the calling context has a bound."""
    bound = _BOUND.get()  # read now, in the thread that starts the run
    if bound is None or instance_concurrency_context is not None:
        assert _dagster_iterator is not None
        return _dagster_iterator(job_context, execution_plan, instance_concurrency_context)
    return _bounded_iterator(job_context, execution_plan, bound)


def _bounded_iterator(job_context: Any, execution_plan: Any, bound: _Bound) -> Iterator[Any]:
    from dagster._core.execution.plan.execute_plan import inner_plan_execution_iterator

    waits = PoolWaits(bound.timeout_s, longer=bound.longer)
    context_type = _bounded_context_type()
    with context_type(job_context.instance, job_context.dagster_run, waits) as context:
        try:
            yield from inner_plan_execution_iterator(job_context, execution_plan, context)
        except DatacodyError as err:
            bound.stopped.append(err)
            raise


_CONTEXT_TYPE: type | None = None


def _bounded_context_type() -> type:
    """``_BoundedConcurrencyContext``, defined on first use (Dagster is imported lazily)."""
    global _CONTEXT_TYPE
    if _CONTEXT_TYPE is not None:
        return _CONTEXT_TYPE
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

    class _BoundedConcurrencyContext(InstanceConcurrencyContext):
        """Dagster's per-run claim bookkeeping, plus the bound, dead-holder recovery and a sleep."""

        def __init__(self, instance: Any, dagster_run: Any, waits: PoolWaits) -> None:
            super().__init__(instance, dagster_run)
            self._waits = waits
            self._recover_every = max(MIN_RECOVERY_S, waits.reminder_s)
            self._next_recovery = time.monotonic()

        def claim(self, concurrency_key: str, step_key: str, step_priority: int = 0) -> bool:
            if super().claim(concurrency_key, step_key, step_priority):
                self._waits.since.pop(step_key, None)
                return True
            now = time.monotonic()
            if now >= self._next_recovery:
                self._next_recovery = now + self._recover_every
                recover_dead_runs(self._instance)
                self._pending_timeouts[step_key] = 0.0  # claim again now: a slot may be free
            if self._waits.waited(step_key) >= self._waits.timeout_s:
                holders = [
                    h for h in pool_holders(self._instance, concurrency_key) if h.run_id != self._run_id
                ]
                self._waits.blocked(concurrency_key, step_key, holders)  # raises
            return False

        def interval_to_next_pending_claim_check(self) -> float:
            """Seconds until a claim is due, the bound is reached or dead holders are looked for."""
            if not self._pending_claims:
                return 0.0
            now = time.time()
            due = [self._pending_timeouts.get(k, now) - now for k in self._pending_claims]
            due.append(self._next_recovery - time.monotonic())
            due.extend(self._waits.timeout_s - self._waits.waited(k) for k in self._pending_claims)
            return max(0.01, min(due))  # a positive floor: never spin on a claim that is not retried

    _CONTEXT_TYPE = _BoundedConcurrencyContext
    return _CONTEXT_TYPE
