"""Past verdicts of one asset check, read from the Dagster event log.

Every reader of check history goes through :func:`check_verdicts`. Dagster records a check as
*planned* when a run selects it, and only later as an evaluation with ``passed``; a check whose
run stopped upstream (a blocking failure, a crash) stays planned for ever. Such a record is no
verdict: it is never counted as a pass or a failure, and it is skipped here, not crashed on.
Evaluations made by an environment's run (`plan --env`) are on its own asset keys
(``env/NAME/<asset>``), never prod's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckVerdict:
    """One evaluation of a check that reached a verdict."""

    run_id: str
    timestamp: float
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    """Plain values (Dagster ``MetadataValue`` wrappers removed)."""
    target_run_id: str | None = None
    """The run that materialized the data the check judged (differs for a check-only run)."""

    @property
    def failing_rows(self) -> int | None:
        value = self.metadata.get("failing_rows")
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    @property
    def reason(self) -> str:
        return str(self.metadata.get("reason") or ("passed" if self.passed else "failed"))


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def verdict_of(record: Any) -> CheckVerdict | None:
    """The verdict of one ``AssetCheckExecutionRecord``; None when it has none (planned/skipped)."""
    from dagster import AssetCheckEvaluation

    entry = getattr(record, "event", None)
    data = entry.dagster_event.event_specific_data if entry is not None and entry.dagster_event else None
    if entry is None or not isinstance(data, AssetCheckEvaluation):  # planned, or no event
        return None
    target = data.target_materialization_data
    return CheckVerdict(
        run_id=str(record.run_id or ""),
        timestamp=float(entry.timestamp),
        passed=bool(data.passed),
        metadata={k: _plain(v) for k, v in (data.metadata or {}).items()},
        target_run_id=target.run_id if target is not None else None,
    )


def check_verdicts(instance: Any, asset: Any, check: str, limit: int = 50) -> list[CheckVerdict]:
    """Verdicts of ``asset``'s check ``check``, newest first; planned-but-skipped ones left out.

    ``asset`` is a spec asset name or a Dagster ``AssetKey``. ``limit`` bounds the records read
    (planned ones included), so a long run of skipped runs shortens the answer rather than
    reaching further back. Environment builds record on their own keys (``env/NAME/<asset>``).
    """
    from dagster import AssetCheckKey, AssetKey

    key = AssetCheckKey(asset if isinstance(asset, AssetKey) else AssetKey([asset]), check)
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=limit)
    return [v for v in (verdict_of(r) for r in records) if v is not None]
