"""A schedule that runs more often than its data changes: run on upstream change instead."""

from __future__ import annotations

from datacody_dagster.optimizer.model import Proposal, SetAutomation
from datacody_dagster.optimizer.rules.base import RuleContext, fmt_seconds
from datacody_dagster.optimizer.rules.cron import ticks_per_day

RULE = "schedule_more_frequent_than_data"


def schedule_more_frequent_than_data(ctx: RuleContext) -> list[Proposal]:
    out = []
    th = ctx.thresholds
    for node in ctx.derived():
        automation = node.automation or ""
        cron = node.schedule or (automation.split(":", 1)[1] if automation.startswith("on_cron:") else None)
        if not cron:
            continue
        own = ctx.signals.of(node.name)
        versions = own.data_versions
        if len(versions) < th.min_runs:
            continue
        changes = own.version_changes
        upstream_changes = {d: ctx.signals.of(d).version_changes for d in node.deps}
        if changes > th.unchanged_share * (len(versions) - 1):
            continue
        per_day = ticks_per_day(cron)
        wasted = (len(versions) - 1) - changes
        spent = sum(own.durations[1:]) if own.durations else 0.0
        out.append(
            Proposal(
                rule=RULE,
                asset=node.name,
                patch=SetAutomation(automation="eager"),
                rationale=(
                    f"`{node.name}` runs on `{cron}` (~{per_day:g} runs/day) but its data changed "
                    f"{changes} time(s) over its last {len(versions)} runs"
                    + (f"; upstream changes: {upstream_changes}" if upstream_changes else "")
                    + ". Run it when upstream data changes instead of on the clock."
                ),
                evidence={
                    "cron": cron,
                    "runs_per_day": round(per_day, 2),
                    "runs_observed": len(versions),
                    "data_version_changes": changes,
                    "unchanged_runs": wasted,
                    "upstream_data_version_changes": sum(upstream_changes.values()),
                    "compute_spent_on_unchanged_runs_s": round(spent, 3),
                },
                expected_gain=(
                    f"~{wasted} of {len(versions) - 1} recent runs were unnecessary "
                    f"({fmt_seconds(spent)} of compute)"
                ),
                score=15.0 + per_day,
            )
        )
    return out


RULES = (schedule_more_frequent_than_data,)
