"""The headless CLI run's steps wait for a pool within the run's bound, as UI runs' steps do.

``datacody materialize`` waits for the DuckDB writer pool before its run starts, with
``--wait-timeout``; another run can still take the pool between that wait and a step's claim.
The CLI's run goes through Dagster's in-process executor, which then waits for the slot without
a bound (it only repeats "Step still blocked" every five minutes). For the run's duration, the
in-process executor's event iterator is wrapped to count, per step, how long it has been blocked
(``pool_wait.PoolWaits``, the same bound and message as the run worker's), and the run stops past
the bound, naming the holders; the error is raised once Dagster has recorded the run as failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from typing import Any

from datacody_dagster.errors import DatacodyError
from datacody_dagster.runtime.dead_runs import pool_holders, recover_dead_runs
from datacody_dagster.runtime.pool_wait import PoolWaits, blocked_reminders_every
from datacody_dagster.runtime.run_worker import _blocked_pool


@contextlib.contextmanager
def bounded_pool_waits(timeout_s: float, longer: str = "`--wait-timeout SECONDS`") -> Iterator[None]:
    """While held, a step of an in-process run blocked on a pool for ``timeout_s`` stops the run;
    the error (naming the pool, its holders and ``longer``) is raised on leaving."""
    from dagster._core.executor import in_process

    original = in_process.inprocess_execution_iterator
    waits = PoolWaits(timeout_s, longer=longer)
    stopped: list[DatacodyError] = []

    def bounded(job_context: Any, execution_plan: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        inner = original(job_context, execution_plan, *args, **kwargs)
        try:
            for event in inner:
                yield event
                pool = _blocked_pool(event)
                if pool is None or not event.step_key:
                    continue
                instance = job_context.instance
                recover_dead_runs(instance)  # a dead holder's slot is freed now
                holders = [h for h in pool_holders(instance, pool) if h.run_id != job_context.run_id]
                try:
                    waits.blocked(pool, event.step_key, holders)
                except DatacodyError as err:
                    stopped.append(err)
                    raise
        finally:
            if isinstance(inner, Generator):  # frees the run's pending claims (its concurrency context)
                inner.close()

    in_process.inprocess_execution_iterator = bounded  # type: ignore[assignment]
    try:
        with blocked_reminders_every(waits.reminder_s):
            yield
    finally:
        in_process.inprocess_execution_iterator = original  # type: ignore[assignment]
    if stopped:
        raise stopped[0]
