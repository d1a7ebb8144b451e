"""How far two samples of one distribution drift apart by chance: a floor under `drift` thresholds.

Two batches drawn from the same distribution still differ: for ``k`` bins and batch sizes ``n``
and ``m``, ``PSI * n m / (n + m)`` is approximately chi-square with ``k - 1`` degrees of
freedom (PSI is the symmetric Kullback-Leibler divergence, whose scaled sampling distribution is
chi-square), so a small Sunday batch against a Saturday one reaches PSI 0.1 by chance about once
in 200. For category shares, Cauchy-Schwarz bounds the total variation by
``0.5 * sqrt(X^2 (1/n + 1/m))`` with ``X^2`` the same chi-square statistic, so its quantile gives
a (conservative) floor too. The chi-square quantile uses the Wilson-Hilferty approximation.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def chi2_quantile(q: float, df: int) -> float:
    """The ``q`` quantile of a chi-square with ``df`` degrees of freedom (Wilson-Hilferty)."""
    z = NormalDist().inv_cdf(q)
    c = 2 / (9 * df)
    return df * max(0.0, 1 - c + z * math.sqrt(c)) ** 3


def chance_score(method: str, bins: int, n: int, m: int, alpha: float) -> float:
    """The score two same-distribution batches of ``n`` and ``m`` rows exceed with probability
    ``alpha`` (``method``: ``psi``, ``category_psi`` or ``category_shares``); 0 when it does not
    apply."""
    if bins < 2 or n <= 0 or m <= 0 or not 0 < alpha < 1:
        return 0.0
    x2 = chi2_quantile(1 - alpha, bins - 1) * (1 / n + 1 / m)
    if method in {"psi", "category_psi"}:
        return x2
    if method == "category_shares":
        return min(1.0, 0.5 * math.sqrt(x2))
    return 0.0
