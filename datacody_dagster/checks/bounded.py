"""Columns piled up on a bound: zero-inflated (rain in mm) or capped (visibility at 10 miles).

Most rows of such a column sit exactly on one value, and the rest trail away from it, so the
batch mean is the bound plus a heavy-tailed excess: a rainy week moves the mean of rain five-fold,
which a symmetric band around the recent median (learned on calm weeks) reads as an anomaly. The
excess is multiplicative, so its band is learned on a log scale: ``log(|mean - bound| + c)``, with
``c`` a tenth of the median excess (a started log: weeks with no rain at all stay finite). A
unit change (x25.4) still moves the log by 3.2; a wet week like those in the history does not.
Quantiles of such a column sit on the bound and flip when the share of rows off it crosses a
decile: their spread is not a statistic to calibrate (the suggester proposes only the mean).

Pure functions over stored column profiles (``datacody/profile``); no data is read.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

STARTED_LOG_SHARE = 0.1
"""The log's offset ``c`` as a share of the median distance from the bound."""


@dataclass(frozen=True)
class Bound:
    """The value a column piles up on, and which side its excess lies."""

    value: float
    side: str
    """``floor`` (values at or above it) or ``cap`` (at or below it)."""
    offset: float
    """The started log's ``c``, in the column's units."""

    def to_log(self, mean: float) -> float:
        """The batch mean as the log of its distance from the bound."""
        return math.log(max(0.0, self._distance(mean)) + self.offset)

    def from_log(self, x: float) -> float:
        """The inverse of :meth:`to_log` (clipped at the bound), to report a band in column units."""
        distance = max(0.0, math.exp(x) - self.offset)
        return self.value + distance if self.side == "floor" else self.value - distance

    def _distance(self, mean: float) -> float:
        return mean - self.value if self.side == "floor" else self.value - mean

    def describe(self) -> str:
        kind = "zero-inflated" if self.side == "floor" and self.value == 0 else f"piled on its {self.side}"
        return f"{kind} at {self.value:g}: band on log(|mean - {self.value:g}| + {self.offset:.3g})"


def _number_profiles(cols: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        c
        for c in cols
        if c.get("class") == "number"
        and len(c.get("deciles") or []) == 9
        and c.get("min") is not None
        and c.get("max") is not None
        and c.get("mean") is not None
    ]


def piled_bound(cols: Sequence[dict[str, Any]]) -> Bound | None:
    """The bound a column piles up on in its history, or None.

    A floor: every batch's minimum is the same value and, in the median batch, at least half the
    rows sit on it (the median equals the minimum); a cap likewise with the maximum. Needs some
    batches whose mean is off the bound (else there is no excess to learn).
    """
    cols = _number_profiles(cols)
    if len(cols) < 3:
        return None
    for side, end, decile in (("floor", "min", 4), ("cap", "max", 4)):
        ends = {float(c[end]) for c in cols}
        if len(ends) != 1:
            continue
        value = ends.pop()
        on_bound = [float(c["deciles"][decile]) == value for c in cols]
        if sum(on_bound) * 2 < len(on_bound):
            continue
        distances = [abs(float(c["mean"]) - value) for c in cols]
        positive = [d for d in distances if d > 0]
        if len(positive) * 2 < len(distances):
            continue
        return Bound(value, side, STARTED_LOG_SHARE * statistics.median(positive))
    return None
