"""Live progress of an in-process Dagster run: one rich bar per asset, fed by the run's events
(the runtime reports them through ``runtime/events.py``; this module only draws).

Only shown on a terminal; `--quiet`, pipes and CI logs get nothing (the summary table follows).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from rich.console import Console

from datacody_dagster.cli.progress import RowProgress, terminal


class AssetProgress(RowProgress):
    """An overall bar and a status line per asset, with its checks as they are evaluated."""

    def __init__(self, assets: list[str], console: Console | None = None) -> None:
        super().__init__("materializing", assets, console)
        self.assets = assets
        self.checks: dict[str, list[bool]] = {a: [] for a in assets}

    def add_check(self, name: str, passed: bool) -> None:
        if name in self.checks:
            self.checks[name].append(passed)
            results = self.checks[name]
            self.set_detail(name, f"checks {sum(results)}/{len(results)} passed")

    def on_event(self, event: dg.DagsterEvent) -> None:
        """Update from one Dagster event (step start/failure, materialization, check result)."""
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION" and event.asset_key is not None:
            self.set_status(event.asset_key.path[-1], "materialized")  # prod or env/NAME/<asset>
        elif kind == "ASSET_CHECK_EVALUATION":
            data: Any = event.event_specific_data
            self.add_check(data.asset_key.path[-1], bool(data.passed))
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


def progress_for(assets: list[str], show: bool, console: Console | None = None) -> AssetProgress | None:
    """An AssetProgress when asked for and stdout is a terminal; None otherwise (quiet)."""
    console = terminal(show, console)
    return None if console is None else AssetProgress(assets, console)
