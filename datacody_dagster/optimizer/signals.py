"""What the optimizer knows about how the pipeline ran, as plain data.

Collected from the Dagster event log (materializations with their row counts, durations, data
and code versions; asset check evaluations with failing rows and duration) for the assets of a
plan. Rules read only these dataclasses, so they are tested without an instance. Only the
figures below are read from metadata: previews and samples (row values) are never picked up.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datacody_dagster.compiler.plan import ProjectPlan

if TYPE_CHECKING:
    from dagster import AssetKey, DagsterInstance

ROW_COUNT = "dagster/row_count"
DATA_VERSION_TAG = "dagster/data_version"
CODE_VERSION_TAG = "dagster/code_version"
DVC_MD5 = "datacody/dvc_md5"
DURATION = "datacody/duration_s"


@dataclass(frozen=True)
class MaterializationSignal:
    """One materialization of one asset."""

    timestamp: float
    row_count: int | None = None
    data_version: str | None = None
    duration_s: float | None = None
    code_version: str | None = None
    run_id: str = ""


@dataclass(frozen=True)
class CheckSignal:
    """One evaluation of one check."""

    timestamp: float
    passed: bool
    failing_rows: int | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class AssetSignals:
    """History of one asset, oldest first."""

    name: str
    materializations: tuple[MaterializationSignal, ...] = ()
    checks: dict[str, tuple[CheckSignal, ...]] = field(default_factory=dict)
    false_alarms: dict[str, int] = field(default_factory=dict)
    """Per check: evaluations people marked as false alarms (`datacody feedback`)."""

    @property
    def runs(self) -> int:
        return len(self.materializations)

    @property
    def row_counts(self) -> list[int]:
        return [m.row_count for m in self.materializations if m.row_count is not None]

    @property
    def durations(self) -> list[float]:
        return [m.duration_s for m in self.materializations if m.duration_s is not None]

    @property
    def data_versions(self) -> list[str]:
        return [m.data_version for m in self.materializations if m.data_version]

    @property
    def version_changes(self) -> int:
        """How many materializations produced data different from the one before."""
        versions = self.data_versions
        return sum(1 for a, b in itertools.pairwise(versions) if a != b)

    @property
    def last_timestamp(self) -> float | None:
        return self.materializations[-1].timestamp if self.materializations else None

    def intervals_s(self) -> list[float]:
        ts = [m.timestamp for m in self.materializations]
        return [b - a for a, b in itertools.pairwise(ts) if b > a]

    def mean_duration(self) -> float | None:
        d = self.durations
        return statistics.fmean(d) if d else None


@dataclass(frozen=True)
class Signals:
    """History of every asset of the plan."""

    assets: dict[str, AssetSignals]
    collected_at: float = 0.0

    def of(self, name: str) -> AssetSignals:
        return self.assets.get(name) or AssetSignals(name)


def default_asset_key(name: str) -> AssetKey:
    """The Dagster asset key of a spec asset (its plain name)."""
    from dagster import AssetKey

    return AssetKey([name])


def _number(metadata: dict[str, Any], key: str) -> float | None:
    value = metadata.get(key)
    raw = getattr(value, "value", value)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    return float(raw)


def _text(metadata: dict[str, Any], key: str) -> str | None:
    value = metadata.get(key)
    raw = getattr(value, "value", value)
    return str(raw) if raw else None


class _StepDurations:
    """Step durations per run, fetched once per run (fallback when metadata has none)."""

    def __init__(self, instance: DagsterInstance):
        self._instance = instance
        self._cache: dict[str, list[Any]] = {}

    def duration(self, run_id: str, asset: str) -> float | None:
        if not run_id:
            return None
        if run_id not in self._cache:
            try:
                self._cache[run_id] = list(self._instance.get_run_step_stats(run_id))
            except Exception:  # a run deleted from storage has no stats: not an error here
                self._cache[run_id] = []
        stats = self._cache[run_id]
        matching = [s for s in stats if asset in s.step_key] or (stats if len(stats) == 1 else [])
        for s in matching:
            if s.start_time and s.end_time:
                return float(s.end_time - s.start_time)
        return None


def _materializations(
    instance: DagsterInstance, key: AssetKey, name: str, limit: int, steps: _StepDurations
) -> tuple[MaterializationSignal, ...]:
    out = []
    for rec in instance.fetch_materializations(key, limit=limit).records:
        mat = rec.asset_materialization
        if mat is None:
            continue
        meta = dict(mat.metadata or {})
        tags = dict(mat.tags or {})
        rows = _number(meta, ROW_COUNT)
        duration = _number(meta, DURATION)
        if duration is None:
            duration = steps.duration(rec.run_id, name)
        out.append(
            MaterializationSignal(
                timestamp=float(rec.timestamp),
                row_count=int(rows) if rows is not None else None,
                data_version=tags.get(DATA_VERSION_TAG) or _text(meta, DVC_MD5),
                duration_s=duration,
                code_version=tags.get(CODE_VERSION_TAG),
                run_id=rec.run_id or "",
            )
        )
    return tuple(sorted(out, key=lambda m: m.timestamp))


def _check_history(
    instance: DagsterInstance, key: AssetKey, check: str, limit: int
) -> tuple[CheckSignal, ...]:
    # Planned-but-skipped evaluations and an environment's evaluations are left out by check_verdicts.
    from datacody_dagster.checks.verdicts import check_verdicts

    out = []
    for verdict in check_verdicts(instance, key, check, limit):
        meta = verdict.metadata
        failing = _number(meta, "failing_rows")
        out.append(
            CheckSignal(
                timestamp=verdict.timestamp,
                passed=verdict.passed,
                failing_rows=int(failing) if failing is not None else None,
                duration_s=_number(meta, "duration_s") if "duration_s" in meta else _number(meta, DURATION),
            )
        )
    return tuple(sorted(out, key=lambda c: c.timestamp))


def _false_alarms(instance: DagsterInstance, key: AssetKey) -> dict[str, int]:
    from datacody_dagster.checks.feedback import read_feedback

    counts: dict[str, int] = {}
    for item in read_feedback(instance, key.to_user_string()):
        if item.verdict == "false_alarm":
            counts[item.check] = counts.get(item.check, 0) + 1
    return counts


def collect_signals(
    instance: DagsterInstance,
    plan: ProjectPlan,
    *,
    limit: int = 50,
    asset_key: Callable[[str], AssetKey] = default_asset_key,
) -> Signals:
    """Read the last ``limit`` materializations and check evaluations of every planned asset."""
    steps = _StepDurations(instance)
    assets = {}
    for node in plan.nodes:
        key = asset_key(node.name)
        assets[node.name] = AssetSignals(
            name=node.name,
            materializations=_materializations(instance, key, node.name, limit, steps),
            checks={c.name: _check_history(instance, key, c.name, limit) for c in node.checks},
            false_alarms=_false_alarms(instance, key) if node.checks else {},
        )
    return Signals(assets=assets, collected_at=time.time())
