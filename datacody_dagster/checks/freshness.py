"""The freshness verdict from the newest value of a date or timestamp column."""

from __future__ import annotations

import datetime as dt
from typing import Any

from datacody_dagster.checks.context import EvalContext, json_safe
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.sqltext import failing_rows_query, parse_age
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import FreshnessArgs


def _as_utc(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        # A date is fresh for its whole day: compare against its end.
        return dt.datetime.combine(value, dt.time.max, tzinfo=dt.UTC)
    return None


def freshness_outcome(
    ctx: EvalContext, check: PlannedCheck, newest: Any, metadata: dict[str, Any]
) -> CheckOutcome | None:
    """Verdict for ``newest`` (None when it is not a date/timestamp: the caller must scan)."""
    when = _as_utc(newest)
    if newest is not None and when is None:
        return None
    args = check.params_as(FreshnessArgs)
    max_age = parse_age(args.max_age)
    now = dt.datetime.now(dt.UTC)
    age = (now - when) if when is not None else None
    passed = age is not None and age <= max_age
    total = ctx.row_count
    return CheckOutcome(
        check,
        passed,
        0 if passed else total,
        total,
        query=failing_rows_query(check, ctx.target.relation),
        metadata={
            **metadata,
            "newest": json_safe(newest),
            "age_hours": round(age.total_seconds() / 3600, 3) if age is not None else None,
            "max_age": args.max_age,
        },
    )
