"""Live progress of an in-process Dagster run: one rich bar per asset, fed by the event stream.

Only shown on a terminal; `--quiet`, pipes and CI logs get nothing (the summary table follows).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

STATUS_STYLE = {"pending": "dim", "running": "yellow", "materialized": "green", "failed": "red"}


class AssetProgress:
    """Rich progress with an overall bar and a status line per asset."""

    def __init__(self, assets: list[str], console: Console | None = None) -> None:
        self.assets = assets
        self.status: dict[str, str] = dict.fromkeys(assets, "pending")
        self.checks: dict[str, list[bool]] = {a: [] for a in assets}
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console or Console(),
            transient=True,
        )
        self._overall: TaskID | None = None
        self._rows: dict[str, TaskID] = {}

    def __enter__(self) -> AssetProgress:
        self._progress.start()
        self._overall = self._progress.add_task("[bold]materializing", total=len(self.assets))
        for name in self.assets:
            self._rows[name] = self._progress.add_task(self._label(name), total=1)
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def _label(self, name: str) -> str:
        status = self.status[name]
        checks = self.checks[name]
        text = f"  [{STATUS_STYLE[status]}]{name}: {status}"
        if checks:
            text += f" (checks {sum(checks)}/{len(checks)} passed)"
        return text + f"[/{STATUS_STYLE[status]}]"

    def set_status(self, name: str, status: str) -> None:
        """Move one asset to pending | running | materialized | failed."""
        if name not in self.status or self.status[name] in {"materialized", "failed"}:
            return
        self.status[name] = status
        done = status in {"materialized", "failed"}
        self._progress.update(self._rows[name], description=self._label(name), completed=1 if done else 0)
        if self._overall is not None:
            finished = sum(s in {"materialized", "failed"} for s in self.status.values())
            self._progress.update(self._overall, completed=finished)

    def add_check(self, name: str, passed: bool) -> None:
        if name in self.checks:
            self.checks[name].append(passed)
            self._progress.update(self._rows[name], description=self._label(name))

    def on_event(self, event: dg.DagsterEvent) -> None:
        """Update from one Dagster event (step start/failure, materialization, check result)."""
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION" and event.asset_key is not None:
            self.set_status(event.asset_key.to_user_string(), "materialized")
        elif kind == "ASSET_CHECK_EVALUATION":
            data: Any = event.event_specific_data
            self.add_check(data.asset_key.to_user_string(), bool(data.passed))
        elif kind in {"STEP_START", "STEP_FAILURE"}:
            status = "running" if kind == "STEP_START" else "failed"
            for name in self._step_assets(event):
                self.set_status(name, status)

    def _step_assets(self, event: dg.DagsterEvent) -> list[str]:
        step = event.step_key or ""
        # Single-asset ops are named <kind>__<asset>; the dbt multi-asset covers all SQL assets.
        named = step.split("__", 1)[-1]
        if named in self.status:
            return [named]
        return [a for a, s in self.status.items() if s in {"pending", "running"}] if step else []


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


def progress_for(assets: list[str], show: bool, console: Console | None = None) -> AssetProgress | None:
    """An AssetProgress when asked for and stdout is a terminal; None otherwise (quiet)."""
    console = console or Console()
    if not show or not console.is_terminal:
        return None
    return AssetProgress(assets, console)
