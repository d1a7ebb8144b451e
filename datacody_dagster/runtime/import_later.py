"""Modules a run will import later, imported while the parent waits for its dbt worker.

While the dbt worker runs models the CLI's process only waits on a pipe. A run that builds a
MetricFlow export imports MetricFlow (~0.5 CPU-s) after dbt is done, on the run's critical
path; queued here, it is imported during that wait instead (in the same thread: no import
runs concurrently with the run's own).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable

_PENDING: list[str] = []


def import_later(modules: Iterable[str]) -> None:
    """Queue ``modules`` to import at the next wait for the dbt worker."""
    _PENDING.extend(m for m in modules if m not in _PENDING)


def import_pending() -> None:
    """Import what is queued (the caller would otherwise wait idle). A failure is left for the
    real import to report, where the run needs the module."""
    while _PENDING:
        with contextlib.suppress(Exception):
            importlib.import_module(_PENDING.pop(0))
