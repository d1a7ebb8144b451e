"""A check that never fails yet costs much: propose removing it (evidence: runs and seconds)."""

from __future__ import annotations

import statistics

from datacody_dagster.optimizer.model import Proposal, RemoveCheck
from datacody_dagster.optimizer.rules.base import RuleContext, fmt_seconds

RULE = "check_never_fails_costly"


def check_never_fails_costly(ctx: RuleContext) -> list[Proposal]:
    out = []
    th = ctx.thresholds
    for node in ctx.plan.nodes:
        asset = ctx.signals.of(node.name)
        asset_s = asset.mean_duration()
        for check in node.checks:
            runs = asset.checks.get(check.name, ())
            costs = [r.duration_s for r in runs if r.duration_s is not None]
            if len(runs) < th.check_min_runs or not all(r.passed for r in runs) or not costs:
                continue
            cost = statistics.fmean(costs)
            share = cost / asset_s if asset_s else None
            costly = cost >= th.costly_check_s or (
                share is not None and share >= th.costly_check_share and cost >= 0.1 * th.costly_check_s
            )
            if not costly:
                continue
            out.append(
                Proposal(
                    rule=RULE,
                    asset=node.name,
                    patch=RemoveCheck(check=check.name),
                    rationale=(
                        f"Check `{check.name}` ({check.description}) passed all {len(runs)} of its runs "
                        f"and costs {fmt_seconds(cost)} each time"
                        + (f" ({share:.0%} of the asset's run time)" if share is not None else "")
                        + ". Remove it, or keep it only where a failure would be news."
                    ),
                    evidence={
                        "evaluations": len(runs),
                        "failures": 0,
                        "mean_duration_s": round(cost, 3),
                        "total_duration_s": round(sum(costs), 3),
                        "share_of_asset_run_time": round(share, 3) if share is not None else None,
                    },
                    expected_gain=f"{fmt_seconds(cost)} less per materialization of `{node.name}`",
                    score=7.0 + cost,
                )
            )
    return out


RULES = (check_never_fails_costly,)
