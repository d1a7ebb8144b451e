"""Checks against history: `drift` (distribution vs the previous materialization: PSI over
quantile bins for numbers, over categories for discrete numbers, total variation for text) and
`row_count_anomaly` (row count vs recent counts, robust z-score).

Both pass when there is no baseline yet: a first materialization cannot drift.
"""

from __future__ import annotations

import statistics
from typing import Any

from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.discrete import (
    StepCounts,
    below_max,
    category_psi,
    is_advance,
    is_discrete,
    step_cap,
    support_max,
    support_min,
    trend_faults,
    trend_history,
    with_other,
)
from datacody_dagster.checks.divergence import psi, total_variation
from datacody_dagster.checks.history import CheckHistory, HistoryRecord, baseline_records
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.profile import bin_terms, column_class
from datacody_dagster.checks.sqltext import ident, literal
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import DriftArgs, RowCountAnomalyArgs

MIN_HISTORY = 3


def drift_outcome(ctx: EvalContext, check: PlannedCheck, history: CheckHistory | None) -> CheckOutcome:
    args = check.params_as(DriftArgs)
    column = args.column or ""
    fixed = args.threshold
    threshold = float(fixed) if fixed is not None else 0.2
    query = f"select {ident(column)} from {ctx.target.relation}"
    if history is None:
        return CheckOutcome(
            check,
            True,
            0,
            ctx.row_count,
            query=query,
            metadata={"baseline": None, "note": "no history available"},
        )
    base = _previous_profile(history, ctx, column)
    if base is None:
        return CheckOutcome(
            check,
            True,
            0,
            ctx.row_count,
            query=query,
            metadata={"baseline": None, "note": "no previous materialization with a profile"},
        )
    record, col_prof = base
    meta: dict[str, Any] = {
        "baseline": {
            "run_id": record.run_id,
            "data_version": record.data_version,
            "timestamp": record.timestamp,
            "rows": record.row_count,
        },
        "threshold": threshold,
    }
    if is_discrete(col_prof):
        expected = dict(col_prof["top"])
        trend = _trend_step(ctx, column, expected, history, args.window)
        if trend is not None:
            passed, failing, trend_meta = trend
            meta.update(trend_meta)
            return CheckOutcome(check, passed, failing, ctx.row_count, query=query, metadata=meta)
        actual = _current_shares(ctx, column, expected)
        score = category_psi(expected, actual)
        meta.update(
            method="category_psi",
            score=round(score, 6),
            baseline_shares=with_other(expected),
            current_shares={k: round(v, 6) for k, v in with_other(actual).items()},
        )
    elif col_prof.get("shares") and col_prof.get("edges"):
        terms = bin_terms(column, col_prof["edges"])
        row = ctx.con.execute(f"select count(*), {', '.join(terms)} from {ctx.target.relation}").fetchone()
        assert row is not None
        n = max(int(row[0]), 1)
        current = [c / n for c in row[1:]]
        score = psi(col_prof["shares"], current)
        meta.update(
            method="psi",
            score=round(score, 6),
            baseline_shares=col_prof["shares"],
            current_shares=[round(c, 6) for c in current],
        )
    elif col_prof.get("top"):
        expected = with_other(col_prof["top"])
        actual = with_other(_current_shares(ctx, column, col_prof["top"]))
        score = total_variation(expected, actual)
        meta.update(
            method="category_shares",
            score=round(score, 6),
            baseline_shares=expected,
            current_shares={k: round(v, 6) for k, v in actual.items()},
        )
    else:
        meta.update(
            note=f"no comparable distribution for {column!r} ({column_class(col_prof.get('type', ''))})"
        )
        return CheckOutcome(check, True, 0, ctx.row_count, query=query, metadata=meta)
    if fixed is None:
        threshold = _learned(history, ctx, check, meta)
        threshold = _chance_floor(threshold, ctx, check, record, meta)
    passed = score <= threshold
    if not passed:
        meta["reason"] = f"{column} distribution moved ({meta['method']} {score:.3f} > {threshold})"
    return CheckOutcome(
        check, passed, 0 if passed else ctx.row_count, ctx.row_count, query=query, metadata=meta
    )


def _trend_step(
    ctx: EvalContext, column: str, expected: dict[str, float], history: CheckHistory, window: int
) -> tuple[bool, int, dict[str, Any]] | None:
    """(passed, failing rows, metadata) of a trend step (see checks/discrete.py); None when the
    batch is judged by PSI: it did not advance past the baseline's values, or the history never
    shows it advancing. An advance that breaks the trend's shape fails here rather than by PSI:
    past trend steps scored PSI ~18, so a learned threshold would let anything through."""
    bound = support_max(expected)
    if bound is None:
        return None
    past = [
        (int((rec.profile or {}).get("rows") or rec.row_count or 0), cols[column])
        for rec in reversed(baseline_records(history, ctx.target, window))
        if column in (cols := (rec.profile or {}).get("columns") or {})
    ]
    trend = trend_history(past)
    if trend is None:
        return None
    low = support_min(expected)
    cap = step_cap(trend, bound)
    c, x = ident(column), f"{ident(column)}::double"
    terms = [
        f"count(*) filter (where {x} {op} {literal(v)}::double)"
        for op, v in ((">", bound), ("<", bound), ("<", bound if low is None else low), (">", cap))
    ]
    row = ctx.con.execute(
        f"select count(*), count({c}), {', '.join(terms)}, max({x}) from {ctx.target.relation}"
    ).fetchone()
    assert row is not None
    rows, nonnull, n_above, n_below, n_below_min, n_above_cap = (int(v) for v in row[:6])
    if not is_advance(nonnull, n_above, n_below, below_max(expected)):
        return None
    counts = StepCounts(
        rows, rows - nonnull, n_below_min, n_above_cap, None if row[6] is None else float(row[6])
    )
    faults = trend_faults(trend, bound, counts)
    meta: dict[str, Any] = {
        "method": "trend",
        "score": 0.0,
        "share_above_baseline": round(n_above / nonnull, 6),
        "largest_step_in_history": trend.step,
        "step_cap": cap,
    }
    if faults:
        reasons = "; ".join(reason for reason, _ in faults)
        meta["reason"] = f"{column} advanced past {bound:g} but not as a trend step: {reasons}"
        return False, min(rows, sum(n for _, n in faults)), meta
    meta["note"] = (
        f"{column} moved past its previous values ({n_above / nonnull:.0%} of the rows above "
        f"{bound:g}, {n_below / nonnull:.0%} below, top within {cap:g}), as it had before: a trending "
        "column, its value shares are not compared"
    )
    return True, 0, meta


def _current_shares(ctx: EvalContext, column: str, baseline: dict[str, float]) -> dict[str, float]:
    """The current batch's share of each of the baseline's categories (and of nulls), one pass."""
    labels = [k for k in baseline if k != "__null__"]
    c = ident(column)
    terms = [f"count(*) filter (where {c}::varchar = {literal(k)})" for k in labels]
    terms.append(f"count(*) filter (where {c} is null)")
    row = ctx.con.execute(f"select count(*), {', '.join(terms)} from {ctx.target.relation}").fetchone()
    assert row is not None
    n = max(int(row[0]), 1)
    actual = {k: v / n for k, v in zip(labels, row[1:-1], strict=True)}
    if "__null__" in baseline or row[-1]:
        actual["__null__"] = row[-1] / n
    return actual


def _learned(history: CheckHistory, ctx: EvalContext, check: PlannedCheck, meta: dict[str, Any]) -> float:
    """The threshold learned from past batch-to-batch scores (metadata says how)."""
    import time

    from datacody_dagster.checks.drift_threshold import learned_threshold

    args = check.params_as(DriftArgs)
    records = list(reversed(baseline_records(history, ctx.target, args.window)))
    now = ctx.target.materialized_at if ctx.target.materialized_at is not None else time.time()
    threshold, band, scores = learned_threshold(records, args.column or "", now, args)
    meta["threshold"] = round(threshold, 6)
    meta["threshold_learned_from"] = {"past_scores": scores, **(band.as_metadata() if band else {})}
    if band is not None:
        from datacody_dagster.checks.calibrate import METHOD

        meta["threshold_learned_from"]["method"] = (
            f"upper edge of a band over the scores between consecutive past batches ({METHOD}), at least 0.1"
        )
        meta["estimated_false_alarm_rate"] = meta["threshold_learned_from"]["estimated_false_alarm_rate"]
    return threshold


def _chance_floor(
    threshold: float, ctx: EvalContext, check: PlannedCheck, record: HistoryRecord, meta: dict[str, Any]
) -> float:
    """A learned threshold never below what two same-distribution batches of these sizes reach
    by chance at the check's false-alarm budget (small batches drift apart more)."""
    from datacody_dagster.checks.drift_noise import chance_score

    shares = meta["baseline_shares"]
    bins = sum(1 for v in (shares.values() if isinstance(shares, dict) else shares) if v > 0)
    alpha = check.params_as(DriftArgs).max_false_alarm_rate
    floor = chance_score(meta["method"], bins, ctx.row_count, int(record.row_count or 0), alpha)
    meta["chance_score"] = round(floor, 6)
    if floor > threshold:
        meta["threshold"] = round(floor, 6)
        meta["threshold_set_by"] = "sampling_error"
    return max(threshold, floor)


def _previous_profile(
    history: CheckHistory, ctx: EvalContext, column: str
) -> tuple[HistoryRecord, dict[str, Any]] | None:
    for rec in baseline_records(history, ctx.target, 10):
        cols = (rec.profile or {}).get("columns") or {}
        if column in cols:
            return rec, cols[column]
    return None


def robust_z(value: float, baseline: list[float]) -> tuple[float, float, float]:
    """(z, median, scale): z-score with the MAD as scale.

    A constant history has MAD 0; the scale then falls back to 1% of the median (at least 1
    row), so a steady count flags a large change but not a one-row wobble.
    """
    med = statistics.median(baseline)
    mad = statistics.median(abs(b - med) for b in baseline)
    scale = max(1.4826 * mad, 0.01 * abs(med), 1.0)
    return abs(value - med) / scale, med, scale


def anomaly_outcome(ctx: EvalContext, check: PlannedCheck, history: CheckHistory | None) -> CheckOutcome:
    args = check.params_as(RowCountAnomalyArgs)
    threshold = args.threshold if args.threshold is not None else 3.5
    window = args.window
    count = ctx.row_count
    query = f"select count(*) from {ctx.target.relation}"
    records = baseline_records(history, ctx.target, window) if history is not None else []
    counts = [float(r.row_count) for r in records if r.row_count is not None]
    if len(counts) < MIN_HISTORY:
        return CheckOutcome(
            check,
            True,
            0,
            count,
            query=query,
            metadata={
                "row_count": count,
                "baseline_counts": counts,
                "note": f"fewer than {MIN_HISTORY} past counts",
            },
        )
    z, med, scale = robust_z(count, counts)
    passed = z <= threshold
    meta: dict[str, Any] = {
        "row_count": count,
        "baseline_counts": counts,
        "baseline_median": med,
        "scale": round(scale, 3),
        "z_score": round(z, 3),
        "threshold": threshold,
    }
    if not passed:
        meta["reason"] = f"row count {count} vs median {med:.0f} (z={z:.1f})"
    return CheckOutcome(check, passed, 0, count, query=query, metadata=meta)
