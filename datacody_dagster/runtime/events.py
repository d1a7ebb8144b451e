"""How a run reports its Dagster events to whoever watches it (the CLI draws progress from them).

The runtime emits events; rendering them is the caller's business (``cli/asset_progress.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import dagster as dg


class RunProgress(Protocol):
    """A watcher of one run: entered around it, told every event the run writes."""

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> Any: ...

    def on_event(self, event: dg.DagsterEvent) -> None: ...


ProgressFactory = Callable[[list[str]], RunProgress | None]
"""Given the assets a run will materialize, a watcher for it (None: nobody watches)."""


@contextlib.contextmanager
def instance_listener(
    instance: dg.DagsterInstance, callback: Callable[[dg.DagsterEvent], None]
) -> Iterator[None]:
    """Call ``callback`` with every Dagster event this process writes to ``instance``."""
    original = instance.handle_new_event

    def handle(event: Any, **kwargs: Any) -> None:
        original(event, **kwargs)
        if event.dagster_event is not None:
            with contextlib.suppress(Exception):  # progress must never break a run
                callback(event.dagster_event)

    instance.handle_new_event = handle  # type: ignore[method-assign]
    try:
        yield
    finally:
        del instance.handle_new_event
