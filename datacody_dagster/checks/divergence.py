"""Distances between two distributions, shared by drift checks and their learned thresholds."""

from __future__ import annotations

import math

_EPS = 1e-4


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, _EPS), max(a, _EPS)
        total += (a - e) * math.log(a / e)
    return total


def total_variation(expected: dict[str, float], actual: dict[str, float]) -> float:
    """Half the L1 distance between two category-share maps (0 = same, 1 = disjoint)."""
    keys = set(expected) | set(actual)
    return 0.5 * sum(abs(expected.get(k, 0.0) - actual.get(k, 0.0)) for k in keys)
