"""Freshness expectations from observed update intervals: add a freshness check that encodes them."""

from __future__ import annotations

import math
import statistics

from datacody_dagster.optimizer.model import AddCheck, Proposal
from datacody_dagster.optimizer.rules.base import RuleContext, is_time_column

RULE = "freshness_from_update_intervals"


def _age(seconds: float) -> str:
    hours = math.ceil(seconds / 3600)
    return f"{math.ceil(hours / 24)}d" if hours >= 48 else f"{max(hours, 1)}h"


def freshness_from_update_intervals(ctx: RuleContext) -> list[Proposal]:
    out = []
    for node in ctx.plan.nodes:
        if any(c.kind == "freshness" for c in node.checks):
            continue
        column = next((c for c in (node.columns or node.column_types) if is_time_column(node, c)), None)
        if column is None:
            continue
        sig = ctx.signals.of(node.name)
        intervals = sig.intervals_s()
        if len(intervals) + 1 < ctx.thresholds.freshness_min_runs:
            continue
        typical = statistics.median(intervals)
        if typical < ctx.thresholds.freshness_min_interval_s:
            continue  # bursts of manual runs say nothing about an update habit
        worst = max(intervals)
        max_age = _age(max(2 * typical, worst))
        out.append(
            Proposal(
                rule=RULE,
                asset=node.name,
                patch=AddCheck(
                    check={"freshness": {"column": column, "max_age": max_age}, "severity": "warn"}
                ),
                rationale=(
                    f"`{node.name}` is updated every ~{typical / 3600:.1f} h (longest gap "
                    f"{worst / 3600:.1f} h over {len(intervals) + 1} updates) but nothing says so. "
                    f"A freshness check on `{column}` (max age {max_age}) turns that habit into an "
                    "expectation that warns when updates stop."
                ),
                evidence={
                    "updates": len(intervals) + 1,
                    "median_interval_s": round(typical, 1),
                    "max_interval_s": round(worst, 1),
                    "column": column,
                    "max_age": max_age,
                },
                expected_gain="late or missing updates are reported instead of noticed by readers",
                score=3.0,
            )
        )
    return out


RULES = (freshness_from_update_intervals,)
