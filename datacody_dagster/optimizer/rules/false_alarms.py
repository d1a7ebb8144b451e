"""Checks people keep marking as false alarms (`datacody feedback --false-alarm`): demote or retune."""

from __future__ import annotations

from typing import Any

from datacody_dagster.optimizer.model import Proposal, TuneCheck
from datacody_dagster.optimizer.rules.base import RuleContext
from datacody_dagster.spec.check_args import CalibratedArgs

RULE = "check_false_alarms"
MIN_FALSE_ALARMS = 2
CALIBRATED_KINDS = frozenset({"distribution", "row_count_anomaly", "drift"})


def check_false_alarms(ctx: RuleContext) -> list[Proposal]:
    out = []
    for node in ctx.plan.nodes:
        asset = ctx.signals.of(node.name)
        for check in node.checks:
            alarms = asset.false_alarms.get(check.name, 0)
            if alarms < MIN_FALSE_ALARMS:
                continue
            args: dict[str, Any] = {}
            params = check.args
            if (
                check.kind in CALIBRATED_KINDS
                and isinstance(params, CalibratedArgs)
                and getattr(params, "threshold", None) is None
            ):
                # a smaller budget means a wider band; the recorded deviations already widen it
                args["max_false_alarm_rate"] = float(f"{params.max_false_alarm_rate / 4:.2g}")
            if check.severity == "warn" and not args:
                continue
            patch = TuneCheck(
                check=check.name, severity="warn" if check.severity == "error" else None, args=args
            )
            steps = []
            if check.severity == "error":
                steps.append("demote it to `warn` so it stops blocking")
            if args:
                steps.append(f"lower max_false_alarm_rate to {args['max_false_alarm_rate']} (a wider band)")
            out.append(
                Proposal(
                    rule=RULE,
                    asset=node.name,
                    patch=patch,
                    rationale=(
                        f"Check `{check.name}` ({check.description}) was marked a false alarm {alarms} times "
                        f"with `datacody feedback`. Proposed: {' and '.join(steps)}."
                    ),
                    evidence={"false_alarms": alarms, "severity": check.severity, "kind": check.kind},
                    expected_gain="fewer false alarms; people keep trusting the checks that remain",
                    score=8.0 + min(alarms, 10) / 10,
                )
            )
    return out


RULES = (check_false_alarms,)
