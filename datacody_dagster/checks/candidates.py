"""Check candidates learned from the profiles of every past batch, validated before proposal.

Each candidate is proposed only when it would have passed on every batch of the history it was
learned from (Deequ's suggest-then-validate, with the whole history as the hold-out):

- ``not_null`` only when no batch ever had a null; rare nulls get a ``null_fraction`` bound;
- ``range`` with both ends, from the historical extremes widened by half their span;
- ``accepted_values`` from the union of labels, once the set stopped growing;
- ``unique`` when every batch was (approximately) distinct, confirmed exactly on the current one;
- ``schema`` when every batch had the same columns and types;
- ``distribution`` (mean, quantiles, null and distinct fractions), ``drift`` on columns whose
  distribution stayed stable between consecutive batches, and the learned
  ``row_count_anomaly``, whose thresholds are calibrated at run time under the asset's
  false-alarm budget (split evenly over those checks).

Severity is earned: ``warn`` unless the history is long enough to trust the check.
Pure functions over profile dicts; :mod:`datacody_dagster.checks.suggest` does the I/O.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from datacody_dagster.checks.bounded import piled_bound
from datacody_dagster.checks.discrete import is_discrete
from datacody_dagster.checks.drift_threshold import pair_score

ACCEPTED_MAX = 12
MIN_ROWS = 20
NULL_RARE = 0.2
"""Columns null in at most this share of rows (in every batch) get a fraction bound."""
ERROR_MIN_BATCHES = 10
"""Static checks that held on this many batches are proposed as `error`."""
ERROR_MIN_BATCHES_CALIBRATED = 30
"""Calibrated checks need a longer history before they may block."""
MIN_BATCHES_CALIBRATED = 6
"""Fewer past batches than this: no distribution or row-count band is proposed."""
ASSET_FALSE_ALARM_BUDGET = 0.01
MIN_BATCHES_DRIFT = 10
"""Fewer past batches than this: no `drift` is proposed (its threshold needs ~7 past changes)."""
STABLE_DRIFT = 0.1
"""A column is proposed for `drift` only if no past change between consecutive batches scored
above this (PSI under 0.1 reads as "no significant change" by convention)."""
APPROX_DISTINCT = 0.9
"""approx_count_distinct is off by a few percent: this share of the rows reads as all distinct."""


@dataclass(frozen=True)
class Suggestion:
    """One proposed check entry (as written in YAML), why, and from how many batches."""

    entry: dict[str, Any]
    reason: str
    batches: int = 1


def _severity(entry: dict[str, Any], batches: int, calibrated: bool = False) -> dict[str, Any]:
    need = ERROR_MIN_BATCHES_CALIBRATED if calibrated else ERROR_MIN_BATCHES
    return {**entry, "severity": "error" if batches >= need else "warn"}


def _nice_up(x: float) -> float:
    """``x`` rounded up to two significant digits (bounds read better)."""
    if x <= 0:
        return 0.0
    mag = 10 ** (math.floor(math.log10(x)) - 1)
    return math.ceil(x / mag) * mag


def _round_bound(x: float, up: bool) -> float | int:
    r = math.ceil(x) if up else math.floor(x)
    return int(r) if abs(x) >= 10 else round(x, 4)


def _batches(profiles: Sequence[dict[str, Any]], col: str) -> list[tuple[int, dict[str, Any]]]:
    return [
        (int(p.get("rows") or 0), p["columns"][col])
        for p in profiles
        if col in (p.get("columns") or {}) and int(p.get("rows") or 0) > 0
    ]


def _has(existing: set[tuple[str, tuple[str, ...]]], kind: str, col: str) -> bool:
    return (kind, (col,)) in existing


def column_candidates(
    profiles: Sequence[dict[str, Any]], existing: set[tuple[str, tuple[str, ...]]]
) -> list[Suggestion]:
    """Column checks that held on every batch in ``profiles`` (newest first, current included)."""
    current = profiles[0]
    out: list[Suggestion] = []
    for col, now in (current.get("columns") or {}).items():
        seen = _batches(profiles, col)
        n = len(seen)
        rows_total = sum(r for r, _ in seen)
        fractions = [c["nulls"] / r for r, c in seen]
        of = f"in {n} past batch{'es' if n != 1 else ''} ({rows_total:,} rows)"
        if not _has(existing, "not_null", col) and not _has(existing, "null_fraction", col):
            out += _null_candidates(col, fractions, seen, of, keylike=_keylike(seen))
        if now["class"] == "number" and not _has(existing, "range", col):
            bounds = _stable_range(seen)
            if bounds is not None:
                low, high, lo, hi = bounds
                out.append(
                    Suggestion(
                        _severity({"range": {"column": col, "min": low, "max": high}}, n),
                        f"{col} stayed within [{lo:g}, {hi:g}] {of}; bounds widened for the tails",
                        n,
                    )
                )
        labels = _labels(seen)
        if labels is not None and not _has(existing, "accepted_values", col):
            values, stable = labels
            if 1 < len(values) <= ACCEPTED_MAX and stable:
                out.append(
                    Suggestion(
                        _severity({"accepted_values": {"column": col, "values": sorted(values)}}, n),
                        f"{col} took the same {len(values)} values {of}",
                        n,
                    )
                )
    return out


_KEY_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER", "VARCHAR"}
)


def _keylike(seen: list[tuple[int, dict[str, Any]]]) -> bool:
    """An integer or text column distinct in every batch (approximately): a key, non-null by
    construction (a continuous measure can be near-distinct too: it is no key)."""
    if not seen or str(seen[0][1].get("type", "")).upper() not in _KEY_TYPES:
        return False
    return all(c.get("distinct", 0) >= APPROX_DISTINCT * (rows - c["nulls"]) for rows, c in seen) and any(
        rows - c["nulls"] > 1 for rows, c in seen
    )


def _null_candidates(
    col: str, fractions: list[float], seen: list[tuple[int, dict[str, Any]]], of: str, keylike: bool
) -> list[Suggestion]:
    """`not_null` when the history makes it safe; otherwise a `null_fraction` bound.

    With no null in ``N`` past rows, the rule of three bounds the null rate by ``3/N``; a batch
    of ``m`` rows then holds a null with probability up to ``1 - (1 - 3/N)^m``. When that exceeds
    the false-alarm budget (a short history), a bound on the fraction is proposed instead.
    Keys (distinct in every batch) get `not_null` regardless.
    """
    n = len(seen)
    rows_total = sum(r for r, _ in seen)
    batch_rows = statistics.median(r for r, _ in seen)
    worst = max(fractions)
    if worst == 0:
        risk = 1 - (1 - min(1.0, 3 / rows_total)) ** batch_rows
        if keylike or risk <= ASSET_FALSE_ALARM_BUDGET:
            return [Suggestion(_severity({"not_null": [col]}, n), f"{col} had no nulls {of}", n)]
        bound = min(1.0, _nice_up(max(0.01, 9 / rows_total)))
        why = (
            f"{col} had no nulls {of}, too few rows to promise none in a batch "
            f"({risk:.1%} risk): a fraction bound, not not_null"
        )
        return [Suggestion(_severity({"null_fraction": {"column": col, "max": bound}}, n), why, n)]
    if worst <= NULL_RARE:
        bound = min(1.0, _nice_up(max(2 * worst, worst + 0.02)))
        why = f"{col} is rarely null (at most {worst:.2%} of a batch {of}): a fraction bound, not not_null"
        return [Suggestion(_severity({"null_fraction": {"column": col, "max": bound}}, n), why, n)]
    return []


def _stable_range(seen: list[tuple[int, dict[str, Any]]]) -> tuple[float, float, float, float] | None:
    """(min, max) bounds from the historical extremes, widened by half their span or, for a
    long tail, by three times the distance from the p90 (p10) to the extreme. Proposed only when the
    older half of the history, widened by a quarter span, already covered the newer half (a
    column that trends, like a month number or a season's temperatures, gets no range)."""
    ext = [
        (float(c["min"]), float(c["max"]), (c.get("deciles") or [None] * 9))
        for _, c in seen
        if c.get("min") is not None and c.get("max") is not None
    ]
    if not ext:
        return None
    lo, hi = min(e[0] for e in ext), max(e[1] for e in ext)
    if len(ext) >= 4:
        older, newer = ext[len(ext) // 2 :], ext[: len(ext) // 2]  # newest first
        o_lo, o_hi = min(e[0] for e in older), max(e[1] for e in older)
        o_margin = 0.25 * (o_hi - o_lo)
        if min(e[0] for e in newer) < o_lo - o_margin or max(e[1] for e in newer) > o_hi + o_margin:
            return None
    p10s = [float(e[2][0]) for e in ext if e[2][0] is not None]
    p90s = [float(e[2][8]) for e in ext if e[2][8] is not None]
    up = max(0.5 * (hi - lo), 3 * (hi - max(p90s)) if p90s else 0.0)
    down = max(0.5 * (hi - lo), 3 * (min(p10s) - lo) if p10s else 0.0)
    low = 0 if lo >= 0 and lo - down < 0 else _round_bound(lo - down, up=False)
    return low, _round_bound(hi + up, up=True), lo, hi


def _labels(seen: list[tuple[int, dict[str, Any]]]) -> tuple[set[str], bool] | None:
    """The union of labels over batches, and whether the set had stopped growing (None: not
    every batch lists all its labels)."""
    sets = []
    for rows, c in seen:
        top = c.get("top")
        if c.get("class") != "text" or not top:
            return None
        nonnull = (rows - c["nulls"]) / rows
        if not math.isclose(sum(v for k, v in top.items() if k != "__null__"), nonnull, rel_tol=1e-3):
            return None
        sets.append({k for k in top if k != "__null__"})
    union = set().union(*sets)
    older = set().union(*sets[len(sets) // 2 :]) if len(sets) > 1 else union  # newest first
    return union, older == union


def schema_candidate(profiles: Sequence[dict[str, Any]], have_schema: bool) -> Suggestion | None:
    """A `schema` contract when every batch had the same columns and types."""
    if have_schema:
        return None
    shapes = [{c: p["type"] for c, p in (prof.get("columns") or {}).items()} for prof in profiles]
    if not shapes or any(s != shapes[0] for s in shapes):
        return None
    n = len(shapes)
    types = {c: t.lower() for c, t in shapes[0].items()}
    return Suggestion(
        _severity({"schema": types}, n),
        f"the same {len(types)} columns and types in {n} past batch{'es' if n != 1 else ''}",
        n,
    )


def calibrated_candidates(
    profiles: Sequence[dict[str, Any]],
    existing: set[tuple[str, tuple[str, ...]]],
    have_kinds: set[str],
    counts: int,
) -> list[Suggestion]:
    """`distribution` per number (not identifier) and time column, `drift` per column whose
    distribution stayed stable, and the learned `row_count_anomaly`.

    They share the asset's false-alarm budget: each gets an even share.
    """
    current = profiles[0]
    n = len(profiles)
    picks: list[tuple[str, list[str]]] = []
    if n >= MIN_BATCHES_CALIBRATED:
        for col, prof in (current.get("columns") or {}).items():
            if _has(existing, "distribution", col):
                continue
            if prof["class"] == "number" and _keylike(_batches(profiles, col)):
                continue  # an identifier counts up: its mean is no distribution to watch
            if prof["class"] == "number":
                # quantiles of a column piled on a bound flip with the share off it: mean only
                piled = piled_bound([c for _, c in _batches(profiles, col)]) is not None
                picks.append((col, ["mean"] if piled else ["mean", "spread"]))
            elif prof["class"] == "temporal":
                picks.append((col, ["min", "max"]))
            elif prof["class"] == "text" and prof.get("distinct", 0) > ACCEPTED_MAX:
                picks.append((col, ["distinct_fraction"]))
    drifts = [] if n < MIN_BATCHES_DRIFT else _drift_picks(profiles, existing)
    anomaly = counts >= MIN_BATCHES_CALIBRATED and "row_count_anomaly" not in have_kinds
    total = len(picks) + len(drifts) + int(anomaly)
    if not total:
        return []
    share = float(f"{ASSET_FALSE_ALARM_BUDGET / total:.2g}")
    out = []
    for col, scores in drifts:
        entry = {"drift": {"column": col, "max_false_alarm_rate": share}, "severity": "warn"}
        out.append(
            Suggestion(
                entry,
                f"the distribution of {col} stayed stable between consecutive batches "
                f"({len(scores)} past changes, {_score_kind(profiles, col)} at most {max(scores):.3f}, "
                f"median {statistics.median(scores):.3f}); threshold learned from them at run time "
                f"under a {share:.2%} false-alarm rate",
                n,
            )
        )
    for col, metrics in picks:
        entry = {"distribution": {"column": col, "metrics": metrics, "max_false_alarm_rate": share}}
        out.append(
            Suggestion(
                _severity(entry, n, calibrated=True),
                f"{', '.join(metrics)} of {col} learned from {n} past batches; "
                f"tolerance calibrated to a {share:.2%} false-alarm rate",
                n,
            )
        )
    if anomaly:
        entry = {"row_count_anomaly": {"max_false_alarm_rate": share}}
        out.append(
            Suggestion(
                _severity(entry, counts, calibrated=True),
                f"band learned from {counts} past row counts (robust scale, weekday seasonality "
                f"when present); tolerance calibrated to a {share:.2%} false-alarm rate",
                counts,
            )
        )
    return out


def _score_kind(profiles: Sequence[dict[str, Any]], col: str) -> str:
    prof = (profiles[0].get("columns") or {}).get(col, {})
    if is_discrete(prof):
        return "PSI over its values"
    return "PSI" if prof.get("edges") else "total variation"


def _drift_picks(
    profiles: Sequence[dict[str, Any]], existing: set[tuple[str, tuple[str, ...]]]
) -> list[tuple[str, list[float]]]:
    """Columns whose distribution never moved significantly between consecutive past batches,
    with those scores (computed from the stored profiles, as the learned threshold is).

    Identifiers are left out (they count up: every batch is new), and so are columns piled on a
    bound (their deciles sit on it, so a profile-based score says little).
    """
    out = []
    for col in profiles[0].get("columns") or {}:
        if _has(existing, "drift", col):
            continue
        seen = _batches(profiles, col)
        if _keylike(seen) or piled_bound([c for _, c in seen]) is not None:
            continue
        chronological = list(reversed(seen))  # profiles are newest first
        scores = [
            score
            for (_, prev), (rows, cur) in itertools.pairwise(chronological)
            if (score := pair_score(prev, cur, rows)) is not None
        ]
        if len(scores) >= MIN_BATCHES_DRIFT - 1 and max(scores) <= STABLE_DRIFT:
            out.append((col, scores))
    return out
