"""A view read by many downstream assets is recomputed by each reader: make it a table."""

from __future__ import annotations

from datacody_dagster.optimizer.model import Proposal, SetMaterialization
from datacody_dagster.optimizer.rules.base import RuleContext

RULE = "view_read_by_many"


def view_read_by_many(ctx: RuleContext) -> list[Proposal]:
    out = []
    for node in ctx.derived():
        if not node.is_dbt_view:
            continue
        readers = [n.name for n in ctx.plan.downstream(node.name)]
        if len(readers) < ctx.thresholds.view_fanout:
            continue
        mean = ctx.signals.of(node.name).mean_duration()
        out.append(
            Proposal(
                rule=RULE,
                asset=node.name,
                patch=SetMaterialization(materialized="table"),
                rationale=(
                    f"`{node.name}` is a view read by {len(readers)} assets "
                    f"({', '.join(readers)}): its query runs once per reader. As a table it is "
                    "computed once and read from Parquet."
                ),
                evidence={"downstream_readers": len(readers), "readers": readers, "mean_duration_s": mean},
                expected_gain=f"the view's query runs 1 time instead of {len(readers)} per refresh",
                score=10.0 + len(readers),
            )
        )
    return out


RULES = (view_read_by_many,)
