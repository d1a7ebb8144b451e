"""Discrete number columns (status codes, small ints, ratings): drift over category shares.

A number column with few distinct values is a set of categories, not a continuum. Its quantile
bins are degenerate (approximate deciles land between the values, several values share a bin or a
bin stays empty), so a shift between two values that share a bin is invisible, and the
batch-to-batch scores a learned threshold is built from (a piecewise-linear CDF through the
deciles) are noise larger than any real shift. Such a column's profile keeps every value's share
(``top``, as text columns do); `drift` compares those shares by PSI, whose sampling distribution
(chi-square with one degree of freedom fewer than the categories) gives the chance floor.

A column that counts up by design (a year, a period or batch number) moves past its previous
values every so often, and its shares then differ completely: PSI would warn every time. When the
batch under check *advanced* (most of its rows above every previous value) and the history shows
the column advancing before, the step is a trend, not drift; a first advance is still judged (a
wrong year in a column that never moved is a fault). A trend step must still look like the ones
before it (:func:`trend_faults`): its top no further than a few of the largest steps history shows
(a sentinel is no trend), no more nulls than history shows, and its rows that did not advance no
lower than the previous batch's values (a trend leaves old values behind, it does not return to
them) beyond what history shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from datacody_dagster.checks.divergence import psi

MAX_DISTINCT = 20
"""At most this many distinct values (every one of them is kept in the profile)."""
MIN_ROWS_PER_VALUE = 10
"""And on average this many rows per value: a small batch of a continuous column is not discrete."""
OTHER = "__other__"
"""The share of values outside the listed ones (a new category lands here)."""


def profiles_as_discrete(column_class: str, distinct: int, nonnull: int) -> bool:
    """Whether a number column's value shares are kept in its profile."""
    return (
        column_class == "number" and 0 < distinct <= MAX_DISTINCT and nonnull >= MIN_ROWS_PER_VALUE * distinct
    )


def is_discrete(col: dict[str, Any]) -> bool:
    """A number column profiled as discrete (its ``top`` lists every value's share)."""
    return col.get("class") == "number" and bool(col.get("top"))


def with_other(shares: dict[str, float]) -> dict[str, float]:
    """``shares`` plus the rest of the mass under :data:`OTHER`."""
    return {**shares, OTHER: max(0.0, 1.0 - sum(v for k, v in shares.items() if k != OTHER))}


def category_psi(expected: dict[str, float], actual: dict[str, float]) -> float:
    """PSI between two category-share maps (a category missing from one has share 0 there)."""
    e, a = with_other(expected), with_other(actual)
    keys = sorted(set(e) | set(a))
    return psi([e.get(k, 0.0) for k in keys], [a.get(k, 0.0) for k in keys])


TREND_SHARE = 0.5
"""A batch *advanced* past the one before it when more than this share of its non-null rows lies
above every previous value, or when all of them sit at or above the previous largest value while
the previous batch had rows below it (a year, a period or batch number that counts up)."""


def _number(label: str) -> float | None:
    if label in (OTHER, "__null__"):
        return None
    try:
        value = float(label)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def support_max(shares: dict[str, float]) -> float | None:
    """The largest value listed in a discrete column's shares (None: none is a number)."""
    values = [v for k in shares if (v := _number(k)) is not None]
    return max(values) if values else None


def support_min(shares: dict[str, float]) -> float | None:
    """The smallest value listed (with rows) in a discrete column's shares (None: none is a number)."""
    values = [v for k, share in shares.items() if share > 0 and (v := _number(k)) is not None]
    return min(values) if values else None


def below_max(shares: dict[str, float]) -> bool:
    """Whether some rows of a discrete column's shares lie below its largest value."""
    bound = support_max(shares)
    return bound is not None and any(
        share > 0 and (v := _number(k)) is not None and v < bound for k, share in shares.items()
    )


def is_advance(nonnull: float, above: float, below: float, previous_below_max: bool) -> bool:
    """The trend rule on a batch's non-null row count (or share) and the parts of it above and
    below the previous batch's largest value (see :data:`TREND_SHARE`)."""
    if nonnull <= 0:
        return False
    return above > TREND_SHARE * nonnull or (below == 0 and previous_below_max)


def advanced(previous: dict[str, float], current: dict[str, float]) -> bool:
    """Whether the ``current`` value shares (a discrete profile's ``top``, listing every value)
    moved past the ``previous`` ones."""
    bound = support_max(previous)
    if bound is None:
        return False
    values = [(v, share) for k, share in current.items() if (v := _number(k)) is not None]
    nonnull = sum(share for _, share in values)
    above = sum(share for v, share in values if v > bound)
    below = sum(share for v, share in values if v < bound)
    return is_advance(nonnull, above, below, below_max(previous))


def advanced_before(profiles: list[dict[str, Any]]) -> bool:
    """Whether a discrete column advanced between two consecutive ones of ``profiles`` (its
    column profiles, oldest first): the history shows it trending by design."""
    tops = [p.get("top") for p in profiles]
    return any(a and b and advanced(a, b) for a, b in pairwise(tops))


MAX_STEPS = 3
"""A trend step's new top lies at most this many of history's largest steps past the previous top.
The trending columns seen (a month of weekly batches, a year, a batch id, a moving window of ids)
move their top by one stride at every step, so 1 would pass every clean batch; 3 leaves room for
two skipped batches (a schedule that missed two runs), while a sentinel (999999 after 7) or a
change of unit lies orders of magnitude further."""
GUARD_Z = 4.0
"""Sampling margin, in binomial standard deviations of the batch's share, over the largest null
share (and share below the previous values) history shows: about 3 in 100,000 batches cross it by
chance (a one-sided normal tail), far under a drift check's false-alarm budget."""
MIN_EXCESS = 0.01
"""Nor does a share grow by less than this (1% of the rows) alarm: drift judges distributions, and
PSI's "no significant change" line (0.1) only flags a new category at ~2% of the rows; single
nulls are `not_null`'s and `null_fraction`'s to catch."""


@dataclass(frozen=True)
class TrendHistory:
    """What past batches of a trending column show (read from their profiles, oldest first)."""

    step: float
    """The largest increase of the column's top between two consecutive batches."""
    null_share: float
    """The largest share of nulls in a batch."""
    below_share: float
    """The largest share of a batch's rows below every value of the batch before it."""


def _null_share(rows: int, col: dict[str, Any]) -> float:
    return int(col.get("nulls") or 0) / rows if rows > 0 else 0.0


def _share_below(previous: dict[str, float], current: dict[str, float]) -> float:
    low = support_min(previous)
    if low is None:
        return 0.0
    return sum(share for k, share in current.items() if (v := _number(k)) is not None and v < low)


def trend_history(batches: list[tuple[int, dict[str, Any]]]) -> TrendHistory | None:
    """The :class:`TrendHistory` of ``batches`` (row count and column profile, oldest first);
    None when the column never advanced between two of them or its top never rose (no step to
    scale a new one by)."""
    tops = [col.get("top") or {} for _, col in batches]
    if not advanced_before([{"top": t} for t in tops]):
        return None
    steps = [
        hi - lo
        for a, b in pairwise(tops)
        if (lo := support_max(a)) is not None and (hi := support_max(b)) is not None
    ]
    step = max(steps, default=0.0)
    if step <= 0:
        return None
    return TrendHistory(
        step=step,
        null_share=max(_null_share(rows, col) for rows, col in batches),
        below_share=max((_share_below(a, b) for a, b in pairwise(tops)), default=0.0),
    )


def share_limit(share: float, rows: int) -> float:
    """The largest share a batch of ``rows`` rows may show when history's is ``share``: the
    sampling margin (:data:`GUARD_Z`; a share of 0 still gets one row's worth of variance), at
    least :data:`MIN_EXCESS`."""
    if rows <= 0:
        return 1.0
    variance = max(share * (1 - share), 1 / rows) / rows
    return share + max(GUARD_Z * math.sqrt(variance), MIN_EXCESS)


@dataclass(frozen=True)
class StepCounts:
    """The batch under check against the previous batch's values (one aggregate pass)."""

    rows: int
    nulls: int
    below_min: int
    """Rows below every value of the previous batch."""
    above_cap: int
    """Rows past :func:`step_cap`."""
    top: float | None
    """The batch's largest value."""


def step_cap(history: TrendHistory, previous_top: float) -> float:
    """The largest top a trend step may reach (see :data:`MAX_STEPS`)."""
    return previous_top + MAX_STEPS * history.step


def trend_faults(history: TrendHistory, previous_top: float, current: StepCounts) -> list[tuple[str, int]]:
    """Why an advanced batch is no trend step (each reason with the rows it concerns); empty when
    it looks like the steps history shows."""
    faults: list[tuple[str, int]] = []
    cap = step_cap(history, previous_top)
    if current.above_cap:
        faults.append(
            (
                f"{current.above_cap} rows (top {current.top:g}) lie past {cap:g}, the previous top "
                f"{previous_top:g} plus {MAX_STEPS} x the largest step history shows ({history.step:g}): "
                "a sentinel or a wrong value, not a trend step",
                current.above_cap,
            )
        )
    rows = max(current.rows, 1)
    if current.nulls / rows > share_limit(history.null_share, current.rows):
        faults.append(
            (
                f"{current.nulls / rows:.1%} of its rows are null, history shows at most "
                f"{history.null_share:.1%}",
                current.nulls,
            )
        )
    if current.below_min / rows > share_limit(history.below_share, current.rows):
        faults.append(
            (
                f"{current.below_min / rows:.1%} of its rows lie below every value of the previous "
                f"batch (history shows at most {history.below_share:.1%}): a trend does not go back",
                current.below_min,
            )
        )
    return faults
