"""What every heuristic rule receives: the plan, the signals and the thresholds."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from datacody_dagster.compiler.plan import Node, ProjectPlan
from datacody_dagster.optimizer.model import Proposal
from datacody_dagster.optimizer.signals import Signals


@dataclass(frozen=True)
class Thresholds:
    """Tunable through `optimizer:` in resources/<env>.yaml (same key names)."""

    min_runs: int = 3
    """Materializations needed before history-based rules speak."""
    unchanged_share: float = 0.25
    """A scheduled asset whose data changed on at most this share of runs runs too often."""
    view_fanout: int = 3
    growth_ratio: float = 1.2
    """Run time must grow at least this much (last / first) to call it growing."""
    large_rows: int = 1_000_000
    check_min_runs: int = 3
    failing_rate: float = 0.8
    costly_check_s: float = 1.0
    costly_check_share: float = 0.25
    """...or a check costing this share of its asset's run time."""
    stale_upstream_changes: int = 2
    freshness_min_runs: int = 5
    freshness_min_interval_s: float = 600.0

    @classmethod
    def from_settings(cls, optimizer: dict[str, Any]) -> Thresholds:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in optimizer.items() if k in known})


@dataclass(frozen=True)
class RuleContext:
    plan: ProjectPlan
    signals: Signals
    thresholds: Thresholds = Thresholds()

    def derived(self) -> list[Node]:
        return [n for n in self.plan.nodes if not n.is_source]


Rule = Callable[[RuleContext], list[Proposal]]

_TIME_NAME = re.compile(r"(^|_)(date|dt|ts|datetime|timestamp|at|updated|loaded|created|ingested)($|_)")
_TIME_TYPE = re.compile(r"^(date|time|timestamp|datetime)", re.IGNORECASE)


def is_time_column(node: Node, column: str) -> bool:
    """A date/time column by its declared type or, failing that, by its name."""
    declared = node.column_types.get(column)
    if declared:
        return bool(_TIME_TYPE.match(declared.strip()))
    return bool(_TIME_NAME.search(column.lower()))


def increasing_share(values: list[float]) -> float:
    """Share of consecutive steps that go up (1.0: strictly growing)."""
    steps = list(itertools.pairwise(values))
    return sum(1 for a, b in steps if b > a) / len(steps) if steps else 0.0


def fmt_seconds(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.2f} s"
