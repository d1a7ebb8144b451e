"""A step waiting for a pool inside a run gives up after a bound, naming who holds the pool.

``datacody materialize`` waits for the DuckDB writer pool before it starts, with a timeout. A run
launched from the UI has no such gate: its steps wait for a free slot inside the run, and
Dagster's executor waits forever (it only repeats "Step still blocked by limit for pool" every
five minutes). The run worker (``run_worker.DatacodyExecutor``) counts, per step, how long it
has been blocked, and fails the run past the bound with the pool, the holders (run, step,
since when) and what to do. Dagster's reminder interval is shortened in the run worker (a
process per run) so the bound is checked about ten times within it.

The bound is the run tag ``datacody/pool_wait_timeout`` (seconds; set it in the launchpad), by
default that of ``datacody materialize --wait-timeout``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.runtime.dead_runs import SlotHolder, describe

if TYPE_CHECKING:
    import dagster as dg

POOL_WAIT_TIMEOUT_TAG = "datacody/pool_wait_timeout"
DEFAULT_TIMEOUT_S = 600.0
"""As ``datacody materialize --wait-timeout``."""
MAX_REMINDER_S = 300.0
"""Dagster's own interval between "still blocked" events."""


def pool_wait_timeout(run: dg.DagsterRun) -> float:
    """The run's bound on a step's wait for a pool (seconds)."""
    try:
        value = float(run.tags.get(POOL_WAIT_TIMEOUT_TAG, DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


@contextlib.contextmanager
def blocked_reminders_every(seconds: float) -> Iterator[None]:
    """Dagster repeats "Step still blocked" every ``seconds`` (at most its own 300) meanwhile."""
    from dagster._core.execution.plan import active

    before = active.CONCURRENCY_CLAIM_MESSAGE_INTERVAL
    active.CONCURRENCY_CLAIM_MESSAGE_INTERVAL = min(before, max(0.1, seconds))  # type: ignore[assignment]
    try:
        yield
    finally:
        active.CONCURRENCY_CLAIM_MESSAGE_INTERVAL = before


@dataclass
class PoolWaits:
    """How long each step of a run has waited for a pool (from its first "blocked" event in the
    run worker, its first refused claim in an in-process run: ``inprocess_pool_wait.py``)."""

    timeout_s: float
    clock: Callable[[], float] = time.monotonic
    since: dict[str, float] = field(default_factory=dict)
    longer: str = f"the run tag `{POOL_WAIT_TIMEOUT_TAG}` (seconds, default {DEFAULT_TIMEOUT_S:.0f})"
    """How to give the run a longer wait, as the error says it."""

    @property
    def reminder_s(self) -> float:
        return min(MAX_REMINDER_S, self.timeout_s / 10)

    def waited(self, step_key: str) -> float:
        """Seconds ``step_key`` has been blocked (its first call starts the count)."""
        now = self.clock()
        return now - self.since.setdefault(step_key, now)

    def blocked(self, pool: str, step_key: str, holders: list[SlotHolder]) -> None:
        """Record that ``step_key`` is still blocked on ``pool``; raise once it waited too long."""
        waited = self.waited(step_key)
        if waited < self.timeout_s:
            return
        held = f"held by {describe(holders)}" if holders else "no slot was free"
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"step {step_key} waited {waited:.0f}s for pool `{pool}` ({held}); the run gives up",
                None,
                "wait for that run to finish or stop it (Dagster UI, Runs), then launch again; "
                f"a longer wait: {self.longer}",
            )
        )
