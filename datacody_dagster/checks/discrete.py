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
the column advancing before, the step is a trend, not drift, and its shares are not compared; a
first advance is still judged (a wrong year in a column that never moved is a fault).
"""

from __future__ import annotations

import math
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
