"""How often a cron expression fires (Dagster's own cron iterator, so it agrees with the UI)."""

from __future__ import annotations

import itertools

_WEEK_S = 7 * 24 * 3600.0
_START = 1_704_067_200.0  # 2024-01-01 UTC, a Monday: any fixed week works


def ticks_per_day(cron: str) -> float:
    """Average ticks per day over one week; 0.0 for an expression Dagster cannot read."""
    from dagster._utils.schedules import cron_string_iterator

    try:
        ticks = cron_string_iterator(_START, cron, "UTC")
        count = sum(1 for _ in itertools.takewhile(lambda t: t.timestamp() < _START + _WEEK_S, ticks))
    except Exception:  # an invalid cron is the validator's business, not the optimizer's
        return 0.0
    return count / 7.0


def is_valid_cron(cron: str) -> bool:
    """True when both the spec validator and Dagster accept the expression."""
    from dagster._utils.schedules import is_valid_cron_string

    from datacody_dagster.compiler.validate.schedules import is_valid_cron as spec_valid

    return spec_valid(cron) and is_valid_cron_string(cron)
