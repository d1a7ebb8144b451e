"""An asset left stale while its upstream keeps changing: run it on upstream change."""

from __future__ import annotations

from datacody_dagster.optimizer.model import Proposal, SetAutomation
from datacody_dagster.optimizer.rules.base import RuleContext

RULE = "stale_while_upstream_changes"


def stale_while_upstream_changes(ctx: RuleContext) -> list[Proposal]:
    out = []
    for node in ctx.derived():
        if node.schedule or node.automation:
            continue
        last = ctx.signals.of(node.name).last_timestamp
        if last is None:
            continue
        newer: dict[str, int] = {}
        for dep in node.deps:
            mats = [m for m in ctx.signals.of(dep).materializations if m.timestamp > last]
            versions = {m.data_version for m in mats if m.data_version}
            changed = len(versions) if versions else len(mats)
            if changed:
                newer[dep] = changed
        if sum(newer.values()) < ctx.thresholds.stale_upstream_changes:
            continue
        changes = ", ".join(f"{d}: {n}" for d, n in newer.items())
        out.append(
            Proposal(
                rule=RULE,
                asset=node.name,
                patch=SetAutomation(automation="eager"),
                rationale=(
                    f"`{node.name}` has no schedule or automation and was last materialized before "
                    f"{sum(newer.values())} upstream change(s) ({changes}). "
                    "Readers see stale data; materialize it when upstream data changes."
                ),
                evidence={
                    "last_materialized_at": last,
                    "upstream_changes_since": sum(newer.values()),
                    "changed_upstream": sorted(newer),
                },
                expected_gain="the asset stays in step with its inputs without manual runs",
                score=6.0 + sum(newer.values()),
            )
        )
    return out


RULES = (stale_while_upstream_changes,)
