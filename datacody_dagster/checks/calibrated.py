"""History-calibrated checks: `distribution` and the learned form of `row_count_anomaly`.

Each past materialization's profile (``datacody/profile``) gives one value per statistic; a
:class:`~datacody_dagster.checks.calibrate.Band` learned from those values under the check's
``max_false_alarm_rate`` judges the current batch. Failed verdicts of the same check are past
incidents (left out of the baseline) unless someone marked them as false alarms with
`datacody feedback`; the deviations of false alarms widen the band.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from datacody_dagster.checks.bounded import piled_bound
from datacody_dagster.checks.calibrate import METHOD, Band, Point, learn_band
from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.count_noise import count_noise
from datacody_dagster.checks.history import CheckHistory, HistoryRecord, baseline_records
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.profile import compute_profile
from datacody_dagster.checks.sampling import sampling_error
from datacody_dagster.checks.sqltext import ident
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import DistributionArgs, RowCountAnomalyArgs

FRACTION_METRICS = frozenset({"null_fraction", "distinct_fraction"})
FRACTION_SPREAD = 0.5
"""The 'typical spread' of a fraction, so `min_tolerance: 0.05` lets it move 2.5 points."""


def metric_value(col: dict[str, Any], rows: int, metric: str) -> float | None:
    """One statistic of one column from a stored profile (None when it does not apply)."""
    nulls = int(col.get("nulls") or 0)
    if metric == "null_fraction":
        return nulls / rows if rows else None
    if metric == "distinct_fraction":
        nonnull = rows - nulls
        return min(1.0, int(col.get("distinct") or 0) / nonnull) if nonnull > 0 else None
    if col.get("class") == "temporal":
        lo, hi = col.get("min_epoch"), col.get("max_epoch")
        if lo is None or hi is None:
            return None
        return {"min": lo, "max": hi, "mean": (lo + hi) / 2}.get(metric)
    if col.get("class") != "number":
        return None
    deciles = col.get("deciles") or []
    match metric:
        case "mean":
            return _float(col.get("mean"))
        case "min" | "max":
            return _float(col.get(metric))
        case "p10" | "p50" | "p90" if len(deciles) == 9:
            return float(deciles[{"p10": 0, "p50": 4, "p90": 8}[metric]])
        case "spread" if len(deciles) == 9:
            return float(deciles[8]) - float(deciles[0])
    return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def spread(col: dict[str, Any]) -> float | None:
    """The column's typical within-batch spread (p90 - p10, or the time span)."""
    lo, hi = col.get("min_epoch"), col.get("max_epoch")
    if col.get("class") == "temporal" and lo is not None and hi is not None:
        return float(hi) - float(lo)
    deciles = col.get("deciles") or []
    if len(deciles) == 9:
        # a zero-inflated column (rain) has p10 = p90: a quarter of the full span stands in
        full = (float(col["max"]) - float(col["min"])) if col.get("max") is not None else 0.0
        return max(float(deciles[8]) - float(deciles[0]), 0.25 * full)
    return None


def history_series(
    history: CheckHistory, ctx: EvalContext, check: PlannedCheck, window: int
) -> tuple[list[HistoryRecord], set[str], dict[str, list[dict[str, Any]]]]:
    """Past records oldest first, the run ids of past incidents, and false-alarm feedback."""
    records = list(reversed(baseline_records(history, ctx.target, window)))
    incidents_of = getattr(history, "incident_runs", None)
    feedback_of = getattr(history, "false_alarms", None)
    incidents: set[str] = set(incidents_of(check.asset, check.name)) if incidents_of else set()
    feedback: list[dict[str, Any]] = list(feedback_of(check.asset, check.name)) if feedback_of else []
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for item in feedback:
        for metric, dev in (item.get("deviations") or {}).items():
            by_metric.setdefault(metric, []).append({"deviation": dev, "run_id": item.get("run_id")})
    incidents -= {str(item.get("run_id")) for item in feedback}
    return records, incidents, by_metric


def _now(ctx: EvalContext) -> float:
    return ctx.target.materialized_at if ctx.target.materialized_at is not None else time.time()


def _band(
    values: Sequence[tuple[HistoryRecord, float]],
    incidents: set[str],
    ctx: EvalContext,
    max_false_alarm_rate: float,
    seasonality: str,
    min_tolerance: float,
    feedback: Sequence[dict[str, Any]],
    noise: float = 0.0,
    noise_at: Callable[[float], float] | None = None,
    min_tolerance_at: Callable[[float], float] | None = None,
) -> Band | None:
    points = [Point(v, rec.timestamp, rec.run_id in incidents) for rec, v in values]
    return learn_band(
        points,
        _now(ctx),
        max_false_alarm_rate=max_false_alarm_rate,
        min_tolerance=min_tolerance,
        sampling_error=noise,
        seasonality=seasonality,
        false_alarm_deviations=[float(f["deviation"]) for f in feedback],
        noise_at=noise_at,
        min_tolerance_at=min_tolerance_at,
    )


def distribution_outcome(
    ctx: EvalContext, check: PlannedCheck, history: CheckHistory | None, profile: dict[str, Any]
) -> CheckOutcome:
    """Each metric of the column within the band learned from history."""
    args = check.params_as(DistributionArgs)
    column = args.column
    if not column:
        return CheckOutcome(check, False, error="distribution needs a `column` (or sit under `columns:`)")
    query = f"select {ident(column)} from {ctx.target.relation}"
    col_now = (profile.get("columns") or {}).get(column)
    rows = int(profile.get("rows") or 0)
    if col_now is None:
        return CheckOutcome(check, False, 0, rows, query=query, error=f"column {column!r} is missing")
    if history is None:
        return CheckOutcome(check, True, 0, rows, query=query, metadata={"note": "no history available"})
    records, incidents, feedback = history_series(history, ctx, check, args.window)
    past_cols = [
        (rec, (rec.profile or {}).get("columns", {}).get(column), int((rec.profile or {}).get("rows") or 0))
        for rec in records
    ]
    past_cols = [(rec, c, n) for rec, c, n in past_cols if c is not None and n > 0]
    spreads = [s for _, c, _ in past_cols if (s := spread(c)) is not None]
    bound = piled_bound([c for _, c, _ in past_cols])
    typical_spread = statistics.median(spreads) if spreads else 0.0
    results: dict[str, Any] = {}
    failed: list[str] = []
    deviations: dict[str, float] = {}
    metrics = list(args.metrics)
    # the check fires when any metric leaves its band: each gets an even share of the budget
    metric_budget = args.max_false_alarm_rate / max(len(metrics), 1)
    for metric in metrics:
        observed = metric_value(col_now, rows, metric)
        values = [(rec, v) for rec, c, n in past_cols if (v := metric_value(c, n, metric)) is not None]
        if observed is None:
            results[metric] = {"note": f"{metric} does not apply to this column"}
            continue
        scale = FRACTION_SPREAD if metric in FRACTION_METRICS else typical_spread
        min_tolerance = args.min_tolerance
        judged, on_log = observed, bound if metric == "mean" else None
        noise = sampling_error(metric, [(c, n) for _, c, n in past_cols])
        if on_log is not None:
            # the excess over the bound is multiplicative: a relative floor on the log scale
            values = [(rec, on_log.to_log(v)) for rec, v in values]
            judged, min_tolerance, scale = on_log.to_log(observed), math.log1p(min_tolerance), 1.0
            noise = 0.0
        band = _band(
            values,
            incidents,
            ctx,
            metric_budget,
            args.seasonality,
            min_tolerance * scale,
            feedback.get(metric, []),
            noise,
        )
        if band is None:
            results[metric] = {"observed": observed, "note": f"{len(values)} past batches: too few to learn"}
            continue
        if band.scale == 0:
            # Never moved in the history: no scale to calibrate against, and a first move of a
            # statistic is as likely natural as not (range and accepted_values judge constants).
            results[metric] = {"observed": _r(observed), "note": f"constant over {band.points} past batches"}
            continue
        # in the band's own units (log for a piled column): feedback widens the band by it
        deviation = abs(judged - band.expected)
        results[metric] = {"observed": _r(observed), **band.as_metadata()}
        lower, upper = band.lower, band.upper
        if on_log is not None:
            lower, upper = sorted((on_log.from_log(band.lower), on_log.from_log(band.upper)))
            results[metric].update(
                method=on_log.describe(),
                expected=_r(on_log.from_log(band.expected)),
                lower=_r(lower),
                upper=_r(upper),
                log_band={"expected": band.expected, "lower": band.lower, "upper": band.upper},
            )
        deviations[metric] = deviation
        if not band.contains(judged):
            failed.append(f"{metric} {_r(observed)} outside [{_r(lower)}, {_r(upper)}]")
    learned = [r for r in results.values() if "expected" in r]
    meta: dict[str, Any] = {
        "method": "calibrated_history",
        "method_detail": METHOD + "; the check's budget is split evenly over its metrics",
        "metrics": results,
        "max_false_alarm_rate": args.max_false_alarm_rate,
        # a union bound over the metrics: the check fires when any of them leaves its band
        "estimated_false_alarm_rate": round(sum(r["estimated_false_alarm_rate"] for r in learned), 6),
        "baseline_batches": max((r["baseline_batches"] for r in learned), default=0),
        "deviations": deviations,
    }
    if failed:
        meta["reason"] = f"{column}: " + "; ".join(failed)
    return CheckOutcome(check, not failed, 0 if not failed else rows, rows, query=query, metadata=meta)


def _r(x: float) -> float:
    return float(f"{x:.6g}")


def row_count_band_outcome(
    ctx: EvalContext, check: PlannedCheck, history: CheckHistory | None
) -> CheckOutcome:
    """`row_count_anomaly` without a fixed threshold: the count within a learned band."""
    count = ctx.row_count
    query = f"select count(*) from {ctx.target.relation}"
    if history is None:
        return CheckOutcome(check, True, 0, count, query=query, metadata={"note": "no history available"})
    args = check.params_as(RowCountAnomalyArgs)
    records, incidents, feedback = history_series(history, ctx, check, args.window)
    values = [(r, float(r.row_count)) for r in records if r.row_count is not None]
    # without a believed weekly pattern the floor is relative to the window's median count;
    # with one, to the judged weekday's own level
    center = statistics.median([v for _, v in values]) if values else 0.0
    band = _band(
        values,
        incidents,
        ctx,
        args.max_false_alarm_rate,
        args.seasonality,
        args.min_tolerance * abs(center),
        feedback.get("row_count", []),
        noise_at=count_noise,
        min_tolerance_at=lambda level: args.min_tolerance * level,
    )
    meta: dict[str, Any] = {"method": "calibrated_history", "method_detail": METHOD, "row_count": count}
    if band is None:
        meta["note"] = f"{len(values)} past row counts: too few to learn a band"
        return CheckOutcome(check, True, 0, count, query=query, metadata=meta)
    meta.update(band.as_metadata())
    meta["threshold"] = {"lower": meta["lower"], "upper": meta["upper"]}
    meta["deviations"] = {"row_count": abs(count - band.expected)}
    passed = band.contains(count)
    if not passed:
        meta["reason"] = (
            f"row count {count:,} outside [{band.lower:,.0f}, {band.upper:,.0f}] "
            f"learned from {band.points} past batches"
        )
    return CheckOutcome(check, passed, 0, count, query=query, metadata=meta)


def current_profile(ctx: EvalContext) -> dict[str, Any]:
    """The profile of the data under check (the same statistics history stores)."""
    return compute_profile(ctx, ctx.target.data_version)
