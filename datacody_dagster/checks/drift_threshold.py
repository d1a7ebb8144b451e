"""A `drift` threshold learned from history when the spec gives none.

Drift compares a batch with the previous one (PSI over the previous batch's quantile bins for
numbers, over value shares for discrete numbers, total variation of category shares for text).
The same score between each pair of consecutive past batches is computed from their stored
profiles alone: a batch's share in the previous batch's bins comes from its own deciles (a
piecewise-linear CDF), so no past data is re-read. Those scores form a series; the threshold is
the upper edge of the band :func:`~datacody_dagster.checks.calibrate.learn_band` learns from them
under the check's ``max_false_alarm_rate``, and never below ``MIN_THRESHOLD``.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from datacody_dagster.checks.calibrate import Band, Point, learn_band
from datacody_dagster.checks.history import HistoryRecord
from datacody_dagster.spec.check_args import DriftArgs

DEFAULT_THRESHOLD = 0.2
"""Used until the history is long enough to learn from."""
MIN_THRESHOLD = 0.1
"""PSI under 0.1 reads as "no significant change" by convention; never alarm below it."""


def _cdf(col: dict[str, Any]) -> Callable[[float], float] | None:
    deciles = col.get("deciles") or []
    lo, hi = col.get("min"), col.get("max")
    if len(deciles) != 9 or lo is None or hi is None:
        return None
    xs = [float(lo), *map(float, deciles), float(hi)]
    ps = [0.0, *(i / 10 for i in range(1, 10)), 1.0]

    def cdf(x: float) -> float:
        if x <= xs[0]:
            return 0.0
        if x >= xs[-1]:
            return 1.0
        j = bisect.bisect_right(xs, x)
        x0, x1, p0, p1 = xs[j - 1], xs[j], ps[j - 1], ps[j]
        return p1 if x1 == x0 else p0 + (p1 - p0) * (x - x0) / (x1 - x0)

    return cdf


def pair_score(prev: dict[str, Any], cur: dict[str, Any], rows: int) -> float | None:
    """The drift score of ``cur`` against ``prev`` (column profiles), from the profiles alone."""
    from datacody_dagster.checks.discrete import category_psi, is_discrete
    from datacody_dagster.checks.divergence import psi, total_variation

    if is_discrete(prev):  # as the check compares a discrete column: PSI over its values
        return category_psi(prev["top"], cur["top"]) if cur.get("top") else None
    if prev.get("edges") and prev.get("shares"):
        cdf = _cdf(cur)
        if cdf is None or not rows:
            return None
        null_share = int(cur.get("nulls") or 0) / rows
        bounds = [cdf(float(e)) for e in prev["edges"]]
        cuts = [0.0, *bounds, 1.0]
        shares = [(b - a) * (1 - null_share) for a, b in itertools.pairwise(cuts)] + [null_share]
        if len(shares) != len(prev["shares"]):
            return None
        return psi(list(prev["shares"]), shares)
    if prev.get("top") and cur.get("top"):
        expected = dict(prev["top"])
        expected["__other__"] = max(0.0, 1.0 - sum(expected.values()))
        actual = dict(cur["top"])
        actual["__other__"] = max(0.0, 1.0 - sum(actual.values()))
        return total_variation(expected, actual)
    return None


def learned_threshold(
    records: Sequence[HistoryRecord], column: str, now: float, args: DriftArgs
) -> tuple[float, Band | None, int]:
    """(threshold, band, scores) from ``records`` (oldest first)."""
    points = []
    for a, b in itertools.pairwise(records):
        prev = ((a.profile or {}).get("columns") or {}).get(column)
        cur = ((b.profile or {}).get("columns") or {}).get(column)
        rows = int((b.profile or {}).get("rows") or 0)
        if prev is None or cur is None:
            continue
        score = pair_score(prev, cur, rows)
        if score is not None:
            points.append(Point(score, b.timestamp))
    band = learn_band(
        points,
        now,
        max_false_alarm_rate=args.max_false_alarm_rate,
        seasonality=args.seasonality,
    )
    if band is None:
        return DEFAULT_THRESHOLD, None, len(points)
    return max(MIN_THRESHOLD, band.upper), band, len(points)
