"""The chance error of a batch's row count, per weekday: a count of independent arrivals.

A day's orders, a week's readings: when rows arrive independently, a batch's row count is a
Poisson count, whose standard deviation is the square root of its mean. A feed with a weekly
pattern therefore has one noise level per weekday: Friday's ~880 rows move by ~30 by chance,
Sunday's ~400 by ~20, and a band whose scale was pooled over the week (or learned on a calm
stretch by chance) can be narrower than chance allows on the weekday being judged. Real feeds are
usually noisier than Poisson (bursts, batching), never calmer, so ``sqrt(level)`` is a floor
under the residual scale at the judged weekday's own level, not an estimate of it.
"""

from __future__ import annotations

import math


def count_noise(level: float) -> float:
    """The standard deviation of a Poisson count whose mean is ``level`` (0 for no rows)."""
    return math.sqrt(level) if level > 0 else 0.0
