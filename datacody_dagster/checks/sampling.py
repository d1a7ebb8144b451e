"""The sampling error of a batch statistic: how much it moves from batch to batch by chance alone.

A batch of ``n`` rows is a sample, so even a perfectly steady feed sees its mean move by about
``sd / sqrt(n)`` and its deciles by the asymptotic quantile error. A band learned from a short,
calm stretch of history can be narrower than that; this is the floor under its scale. The
column's standard deviation is read from its stored deciles (``(p90 - p10) / 2.563`` for a
normal column), so no past data is re-read. Formulas are the normal-theory ones: for a quantile
``q_p``, ``var = p (1 - p) / (n f(q_p)^2)``, and for ``p90 - p10`` the covariance of the two
is subtracted.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

P90_MINUS_P10_IN_SD = 2.5631
"""p90 - p10 of a normal distribution, in standard deviations."""
_SE_IN_SD = {
    "mean": 1.0,
    "p50": math.sqrt(math.pi / 2),
    "p10": 1.7094,
    "p90": 1.7094,
    "spread": 2.2785,
}
"""Standard error of each statistic in units of ``sd / sqrt(n)`` (normal theory)."""


def sampling_error(metric: str, past: Sequence[tuple[dict[str, Any], int]]) -> float:
    """The typical standard error of ``metric`` in one batch, from past ``(column profile, rows)``.

    0 when unknown (no deciles, text and time statistics).
    """
    if not past:
        return 0.0
    rows = statistics.median(n for _, n in past)
    if rows <= 0:
        return 0.0
    if metric == "null_fraction":
        share = statistics.median(int(c.get("nulls") or 0) / n for c, n in past if n > 0)
        return math.sqrt(share * (1 - share) / rows)
    factor = _SE_IN_SD.get(metric)
    spreads = [
        float(c["deciles"][8]) - float(c["deciles"][0])
        for c, _ in past
        if c.get("class") == "number" and len(c.get("deciles") or []) == 9
    ]
    if factor is None or not spreads:
        return 0.0
    sd = statistics.median(spreads) / P90_MINUS_P10_IN_SD
    return factor * sd / math.sqrt(rows)
