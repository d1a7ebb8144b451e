"""A UI run's executor waits for a pool without spinning a core.

Dagster 1.13.27's multiprocess executor loops without a pause while every step it has left is
blocked by a pool and none of its steps runs (with a step running, it waits on that step's queue
between looks): a UI run waiting for the DuckDB writer pool that a CLI run holds spun a core,
4.99 CPU-s over a 5.00 s wait. Its loop asks :class:`ActiveExecution` for steps at every turn;
here, a turn that got none while claims are pending and nothing runs pauses
:data:`PAUSE_S` first. The executor module's name for the class is replaced once per process (the
run worker executes one run) and never put back; the pause changes no verdict, only how often
the claims are retried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

PAUSE_S = 0.1
_INSTALL = threading.Lock()


def pace_pool_waits() -> None:
    """Install the pause in Dagster's multiprocess executor of this process (idempotent)."""
    from dagster._core.execution.plan.active import ActiveExecution
    from dagster._core.executor import multiprocess

    with _INSTALL:
        if multiprocess.ActiveExecution is not ActiveExecution:
            return

        class _PacedActiveExecution(ActiveExecution):
            def get_steps_to_execute(self, limit: int | None = None) -> Sequence[Any]:
                steps = super().get_steps_to_execute(limit)
                claims = self._instance_concurrency_context
                if not steps and not self._in_flight and claims is not None and claims.has_pending_claims():
                    time.sleep(PAUSE_S)
                return steps

        multiprocess.ActiveExecution = _PacedActiveExecution  # type: ignore[misc]
