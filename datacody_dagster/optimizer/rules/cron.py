"""How often a cron expression fires (Dagster's own cron iterator, so it agrees with the UI)."""

from __future__ import annotations

import itertools

from datacody_dagster.cron import is_valid_cron

_WEEK_S = 7 * 24 * 3600.0
_START = 1_704_067_200.0  # 2024-01-01 UTC, a Monday: any fixed week works


def ticks_per_day(cron: str) -> float:
    """Average ticks per day over one week; 0.0 for an expression Dagster cannot read."""
    from dagster._utils.schedules import cron_string_iterator

    if not is_valid_cron(cron):  # the validator's business, not the optimizer's
        return 0.0
    ticks = cron_string_iterator(_START, cron, "UTC")
    return sum(1 for _ in itertools.takewhile(lambda t: t.timestamp() < _START + _WEEK_S, ticks)) / 7.0
