"""Cron expressions as Dagster reads them: the one validator for specs, optimizer rules and LLM output.

Dagster's own check (`is_valid_cron_string`, over its vendored croniter) decides, so `validate`
refuses exactly the expressions that would stop the code location from loading (`99 25 * * *`,
`*/0 * * * *`, and `0 6 31 2 *`, a day February never has). Dagster is imported on first use
only (~2.5 s here): projects without a schedule never pay for it.
"""

from __future__ import annotations

import functools

FIELDS_HINT = "use five fields (minute hour day month weekday), e.g. '0 6 * * *'"


@functools.cache
def cron_problem(expr: str) -> str | None:
    """None when Dagster accepts `expr` as a schedule; otherwise what is wrong with it, in a few words."""
    from dagster._utils.schedules import CroniterShim, is_valid_cron_string

    if is_valid_cron_string(expr):
        return None
    try:
        fields, *_ = CroniterShim.expand(expr)
    except Exception as exc:  # croniter says which part it could not read
        return str(exc)
    if len(fields) != 5:
        return f"{len(fields)} fields; Dagster reads exactly five (no seconds or years)"
    return "that day never occurs in that month (February has no 30th or 31st)"


def is_valid_cron(expr: str) -> bool:
    """True when Dagster accepts `expr` as a schedule."""
    return cron_problem(expr) is None
