"""Asset checks: evaluate planned checks on an asset's output with as few passes as possible.

The runtime builds a :class:`CheckTarget` for each materialized asset and calls
:func:`evaluate_checks`; :mod:`datacody_dagster.checks.dagster_results` turns the outcomes into
Dagster ``AssetCheckResult``s. Nothing here imports dagster at module level.
"""

from __future__ import annotations

from collections.abc import Sequence

from datacody_dagster.checks.cache import ResultCache
from datacody_dagster.checks.engine import evaluate
from datacody_dagster.checks.history import (
    CheckHistory,
    DagsterCheckHistory,
    HistoryRecord,
    profile_for_metadata,
)
from datacody_dagster.checks.model import CheckOutcome, CheckTarget
from datacody_dagster.compiler.checks import PlannedCheck


def evaluate_checks(
    target: CheckTarget,
    checks: Sequence[PlannedCheck],
    *,
    history: CheckHistory | None = None,
    cache: ResultCache | None = None,
) -> list[CheckOutcome]:
    """Outcomes of ``checks`` on ``target``, in the order given.

    Never raises for a bad check or unreadable data: such outcomes carry ``error`` and count as
    failed. ``history`` feeds `drift` and `row_count_anomaly` (they pass without a baseline);
    ``cache`` returns earlier outcomes (``reused=True``) for unchanged data and definitions.
    """
    return evaluate(target, checks, history, cache)


__all__ = [
    "CheckHistory",
    "CheckOutcome",
    "CheckTarget",
    "DagsterCheckHistory",
    "HistoryRecord",
    "ResultCache",
    "evaluate_checks",
    "profile_for_metadata",
]
