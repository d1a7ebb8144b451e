"""Discrete number columns (status codes, small ints, ratings): drift over category shares.

A number column with few distinct values is a set of categories, not a continuum. Its quantile
bins are degenerate (approximate deciles land between the values, several values share a bin or a
bin stays empty), so a shift between two values that share a bin is invisible, and the
batch-to-batch scores a learned threshold is built from (a piecewise-linear CDF through the
deciles) are noise larger than any real shift. Such a column's profile keeps every value's share
(``top``, as text columns do); `drift` compares those shares by PSI, whose sampling distribution
(chi-square with one degree of freedom fewer than the categories) gives the chance floor.
"""

from __future__ import annotations

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
