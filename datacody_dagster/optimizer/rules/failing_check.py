"""A check that keeps failing is noise until fixed: propose a threshold or a severity, with figures."""

from __future__ import annotations

from typing import Any

from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.optimizer.model import Proposal, TuneCheck
from datacody_dagster.optimizer.rules.base import RuleContext
from datacody_dagster.optimizer.signals import AssetSignals, CheckSignal
from datacody_dagster.spec.check_args import RowCountArgs
from datacody_dagster.spec.check_kinds import TRAINING_KINDS

RULE = "check_keeps_failing"


def _tuning(
    check: PlannedCheck, runs: tuple[CheckSignal, ...], asset: AssetSignals
) -> tuple[dict[str, Any], str]:
    """New arguments when the observed figures give a threshold, else ({}, reason)."""
    rows = asset.row_counts
    if isinstance(check.args, RowCountArgs) and rows:
        bounds = check.args
        if bounds.min is not None and min(rows) < bounds.min:
            return {"min": min(rows)}, f"observed row counts go down to {min(rows)}"
        if bounds.max is not None and max(rows) > bounds.max:
            return {"max": max(rows)}, f"observed row counts go up to {max(rows)}"
    if check.kind in TRAINING_KINDS and rows:
        rates = [r.failing_rows / rows[-1] for r in runs if r.failing_rows is not None and rows[-1]]
        if rates:
            rate = round(max(rates) * 1.1, 6)
            return {"max_rate": rate}, f"observed flagged rate up to {max(rates):.4%}"
    return {}, "no threshold can be derived from the figures"


def check_keeps_failing(ctx: RuleContext) -> list[Proposal]:
    out = []
    th = ctx.thresholds
    for node in ctx.plan.nodes:
        asset = ctx.signals.of(node.name)
        for check in node.checks:
            runs = asset.checks.get(check.name, ())[-20:]
            if len(runs) < th.check_min_runs:
                continue
            failed = [r for r in runs if not r.passed]
            rate = len(failed) / len(runs)
            if rate < th.failing_rate:
                continue
            args, why = _tuning(check, runs, asset)
            if not args and check.severity == "warn":
                continue
            failing = [r.failing_rows for r in failed if r.failing_rows is not None]
            patch = (
                TuneCheck(check=check.name, args=args)
                if args
                else TuneCheck(check=check.name, severity="warn")
            )
            action = (
                f"set {', '.join(f'{k}={v}' for k, v in args.items())} ({why})"
                if args
                else "demote it to `warn` until the data or the rule is fixed"
            )
            out.append(
                Proposal(
                    rule=RULE,
                    asset=node.name,
                    patch=patch,
                    rationale=(
                        f"Check `{check.name}` ({check.description}) failed {len(failed)} of its last "
                        f"{len(runs)} runs, so it blocks `{node.name}` without telling anything new. "
                        f"Fix the data upstream, or {action}."
                    ),
                    evidence={
                        "evaluations": len(runs),
                        "failures": len(failed),
                        "failure_rate": round(rate, 3),
                        "failing_rows": failing[-10:],
                        "severity": check.severity,
                    },
                    expected_gain="downstream assets stop being blocked by a known, accepted condition",
                    score=9.0 + rate,
                )
            )
    return out


RULES = (check_keeps_failing,)
