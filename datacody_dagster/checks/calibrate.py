"""Tolerance bands learned from an asset's own history under a false-alarm budget.

A statistic of each past batch (a row count, a column mean, a null fraction...) forms a series.
Each point is predicted by the median of the few clean points before it (of the same weekday
when the history shows a weekly pattern), so slow trends and seasons do not read as anomalies;
the prediction errors (residuals) give a robust scale (MAD, or the mean absolute deviation when
that is larger). Past incidents are kept out of the baseline: points the caller marks (failed
verdicts nobody called a false alarm) are dropped, and rare residuals far outside the rest are
replaced by their prediction. The tolerance is the widest of

- ``k * scale`` with ``k`` the normal quantile of the budget, inflated for short histories,
- the largest clean residual (the band would have passed on every clean past batch),
- a minimum tolerance (a relative floor: a 2% wobble of a steady series never fires),
- the deviations people marked as false alarms (feedback widens the band).

Nothing here reads data or Dagster: plain numbers in, a :class:`Band` out.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

LOOKBACK = 5
"""Clean points whose median predicts the next one."""
MIN_RESIDUALS = 5
"""Fewer residuals than this: no band (the check passes with a note)."""
OUTLIER_SCALES = 5.0
"""Residuals beyond this many robust scales are incidents, not baseline."""
SEASONAL_GAIN = 0.7
"""Weekday baselines are used when they shrink the residual scale below this share."""
SEASONAL_MIN_RESIDUALS = 14
"""Weekday residuals needed before a weekly pattern is believed (two per weekday)."""
MAX_INCIDENT_SHARE = 0.1
"""More outliers than this share of residuals are a pattern, not incidents."""
SMALL_SAMPLE = 8.0
"""k is inflated by ``1 + SMALL_SAMPLE / n`` for ``n`` residuals."""


METHOD = (
    "expected: median of the last few clean batches (same weekday when the history shows a weekly "
    "pattern); tolerance: the widest of the budget's normal quantile (inflated for short histories) "
    "times a robust residual scale, the largest past clean residual, min_tolerance, and deviations "
    "marked as false alarms"
)
"""How a band is learned, in one sentence for check metadata."""


@dataclass(frozen=True)
class Point:
    """One past value of a statistic."""

    value: float
    timestamp: float
    """When the batch was materialized (its weekday is the season)."""
    incident: bool = False
    """A failed verdict nobody called a false alarm: kept out of the baseline."""


@dataclass(frozen=True)
class Band:
    """Where the next value is expected, and how that was learned."""

    expected: float
    tolerance: float
    scale: float
    k: float
    points: int
    """Past batches the band was learned from (after exclusions)."""
    excluded: int
    """Past batches left out as incidents."""
    seasonal: bool
    estimated_false_alarm_rate: float
    binding: str
    """Which term set the tolerance: budget, history, min_tolerance or feedback."""
    sampling_floor: bool = False
    """The scale was raised to the statistic's own sampling error (the history looked calmer)."""

    @property
    def lower(self) -> float:
        return self.expected - self.tolerance

    @property
    def upper(self) -> float:
        return self.expected + self.tolerance

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def as_metadata(self) -> dict[str, Any]:
        return {
            "expected": _round(self.expected),
            "lower": _round(self.lower),
            "upper": _round(self.upper),
            "tolerance": _round(self.tolerance),
            "scale": _round(self.scale),
            "k": round(self.k, 3),
            "baseline_batches": self.points,
            "excluded_incidents": self.excluded,
            "seasonal": self.seasonal,
            "estimated_false_alarm_rate": round(self.estimated_false_alarm_rate, 6),
            "tolerance_set_by": self.binding,
            "scale_set_by": "sampling_error" if self.sampling_floor else "history",
        }


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def weekday(timestamp: float) -> int:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).weekday()


def _mad_scale(values: Sequence[float]) -> float:
    med = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - med) for v in values)


def _priors(points: Sequence[Point], i: int, seasonal: bool, at: float) -> list[float]:
    day = weekday(at)
    return [q.value for q in points[:i] if not q.incident and (not seasonal or weekday(q.timestamp) == day)]


def _residuals(points: Sequence[Point], seasonal: bool, lookback: int) -> list[tuple[int, float]]:
    """(index, value - prediction) for every clean point with ``lookback`` clean points before it
    (of its weekday when seasonal); the prediction is their median."""
    out = []
    for i, p in enumerate(points):
        if p.incident:
            continue
        prior = _priors(points, i, seasonal, p.timestamp)
        if len(prior) >= lookback:
            out.append((i, p.value - statistics.median(prior[-lookback:])))
    return out


def _lookback(points: Sequence[Point], seasonal: bool, now: float) -> int:
    """The longest lookback (up to LOOKBACK) that both predicts ``now`` and leaves enough
    residuals: the residuals then measure exactly the predictor used for the current batch
    (a trend makes a longer lookback lag more, so mixing lookbacks would bias the band)."""
    available = len(_priors(points, len(points), seasonal, now))
    for lookback in range(min(LOOKBACK, available), 1, -1):
        if len(_residuals(points, seasonal, lookback)) >= MIN_RESIDUALS:
            return lookback
    return 2


def _spread(values: Sequence[float]) -> float:
    """Mean absolute deviation from the median: unlike the MAD it sees a minority of big
    deviations (weekends are 2 days in 7)."""
    med = statistics.median(values)
    return statistics.fmean(abs(v - med) for v in values)


def _trimmed(points: list[Point], seasonal: bool, lookback: int) -> tuple[list[Point], list[float], int]:
    """Points with rare residual outliers replaced, the clean residuals, how many were replaced."""
    resid = _residuals(points, seasonal, lookback)
    if len(resid) < MIN_RESIDUALS:
        return points, [r for _, r in resid], 0
    values = [r for _, r in resid]
    med, scale = statistics.median(values), _mad_scale(values)
    if scale <= 0:
        return points, values, 0
    bad = {i for i, r in resid if abs(r - med) > OUTLIER_SCALES * scale}
    # Only rare outliers are incidents; a recurring pattern (a weekly dip) is the baseline.
    if not bad or len(bad) > MAX_INCIDENT_SHARE * len(resid):
        return points, values, 0
    # An outlier's value is replaced by its prediction rather than dropped: dropping it would
    # make the median of "the last few points" reach one batch further back, which lags on a
    # trend (ids, dates) by a whole batch.
    fixed = {i: points[i].value - r + med for i, r in resid if i in bad}
    points = [Point(fixed[i], p.timestamp) if i in fixed else p for i, p in enumerate(points)]
    return points, [r for _, r in _residuals(points, seasonal, lookback)], len(bad)


def _seasonal(points: list[Point], mode: str, now: float) -> bool:
    if mode == "none":
        return False
    if mode == "weekday":
        return True
    days = {weekday(p.timestamp) for p in points}
    if len(days) < 3:  # weekly or sparser batches carry no weekday pattern
        return False
    weekly = _residuals(points, True, 2)
    flat = _residuals(points, False, 2)
    # Seven weekday baselines fit noise more closely than one: trust the pattern only when
    # every weekday has been predicted twice (a fortnight of residuals), not on a few days.
    if len(weekly) < max(MIN_RESIDUALS, SEASONAL_MIN_RESIDUALS) or len(flat) < MIN_RESIDUALS:
        return False
    return _spread([r for _, r in weekly]) < SEASONAL_GAIN * _spread([r for _, r in flat])


def learn_band(
    history: Sequence[Point],
    now: float,
    *,
    max_false_alarm_rate: float = 0.01,
    min_tolerance: float = 0.0,
    sampling_error: float = 0.0,
    seasonality: str = "auto",
    false_alarm_deviations: Sequence[float] = (),
    noise_at: Callable[[float], float] | None = None,
    min_tolerance_at: Callable[[float], float] | None = None,
) -> Band | None:
    """The band for a batch materialized at ``now`` from ``history`` (oldest first).

    ``min_tolerance`` is absolute (callers scale it to the statistic); ``sampling_error`` is the
    statistic's standard error within one batch (0 when unknown), a floor under the residual
    scale. ``false_alarm_deviations``
    are distances from the expected value that people marked as false alarms. ``noise_at``
    gives the statistic's sampling error at a level (a row count's ``sqrt``): once the weekly
    pattern is believed, the floor is taken at the expected value, the judged weekday's own level
    (a scale pooled over the week, or learned on a calm stretch, can be narrower than chance
    allows on that weekday; a feed with no weekly pattern, hourly readings say, may have no
    chance variation at all). ``min_tolerance_at`` gives a relative floor at a level (10% of a
    row count): once the weekly pattern is believed it replaces ``min_tolerance`` at the expected
    value, so a Sunday at half of Friday's volume is not given Friday's floor (a floor measured on
    the median over all weekdays is too wide on low days, and too narrow on high ones). None when
    the history is too short to learn from.
    """
    points = [p for p in history if math.isfinite(p.value)]
    seasonal = _seasonal(points, seasonality, now)
    lookback = _lookback(points, seasonal, now)
    points, resid, trimmed = _trimmed(points, seasonal, lookback)
    if len(resid) < MIN_RESIDUALS:
        return None
    clean = [p for p in points if not p.incident]
    base = _priors(points, len(points), seasonal, now)[-lookback:]
    if len(base) < 2:  # no batch of this weekday yet: the plain recent median
        base = [p.value for p in clean][-lookback:]
    level = statistics.median(base)
    bias = statistics.median(resid)
    centered = [r - bias for r in resid]
    n = len(centered)
    # The MAD ignores a spike-y series (mostly flat, sometimes far off); the mean absolute
    # deviation does not. Both estimate the standard deviation of normal residuals.
    scale = max(_mad_scale(centered), 1.2533 * statistics.fmean(abs(c) for c in centered))
    expected = level + bias
    if noise_at is not None and seasonal:
        sampling_error = max(sampling_error, noise_at(abs(expected)))
    if min_tolerance_at is not None and seasonal:
        min_tolerance = min_tolerance_at(abs(expected))
    # A residual is the batch's sampling error minus that of the median it is predicted by
    # (variance ~ pi/2 / lookback of one): a scale below that is a calm stretch seen by chance.
    floor = sampling_error * math.sqrt(1 + math.pi / (2 * lookback))
    sampling_floor = floor > scale
    scale = max(scale, floor)
    # A scale estimated from few residuals is uncertain: widen k as a t quantile would
    # (the MAD's efficiency is ~37%, so the effective degrees of freedom are fewer than n).
    k = statistics.NormalDist().inv_cdf(1 - max_false_alarm_rate / 2) * (1 + SMALL_SAMPLE / n)
    terms = {
        "budget": k * scale,
        "history": max(abs(c) for c in centered) * 1.05,
        "min_tolerance": min_tolerance,
        "feedback": max(false_alarm_deviations, default=0.0) * 1.05,
    }
    binding = max(terms, key=lambda t: terms[t])
    tolerance = terms[binding]
    rate = 2 * (1 - statistics.NormalDist().cdf(tolerance / scale)) if scale > 0 else 0.0
    return Band(
        expected=expected,
        tolerance=tolerance,
        scale=scale,
        k=k,
        points=len(clean),
        excluded=len(points) - len(clean) + trimmed,
        seasonal=seasonal,
        estimated_false_alarm_rate=rate,
        binding=binding,
        sampling_floor=sampling_floor,
    )
