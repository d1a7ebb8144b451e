"""Two assets whose SQL is the same after sqlglot normalization compute the same data twice."""

from __future__ import annotations

from collections import defaultdict

from datacody_dagster.compiler.plan import Node
from datacody_dagster.optimizer.model import MergeDuplicates, Proposal
from datacody_dagster.optimizer.rules.base import RuleContext, fmt_seconds

RULE = "duplicate_computation"


def duplicate_computation(ctx: RuleContext) -> list[Proposal]:
    groups: dict[str, list[Node]] = defaultdict(list)
    for node in ctx.derived():
        if node.canonical_sql:
            groups[node.canonical_sql].append(node)
    out = []
    for nodes in groups.values():
        if len(nodes) < 2:
            continue
        # Keep the most-read asset (fewest downstream edits); ties: plan order.
        keep = max(nodes, key=lambda n: (len(ctx.plan.downstream(n.name)), -nodes.index(n)))
        for dup in nodes:
            # The duplicate becomes a dbt view: only a dbt model can, and only if no Spark SQL or
            # steps asset reads its Parquet output.
            if (
                dup is keep
                or not dup.runs_in_dbt
                or any(dup.name in n.parquet_inputs for n in ctx.plan.nodes)
            ):
                continue
            mean = ctx.signals.of(dup.name).mean_duration()
            out.append(
                Proposal(
                    rule=RULE,
                    asset=dup.name,
                    patch=MergeDuplicates(into=keep.name),
                    rationale=(
                        f"`{dup.name}` and `{keep.name}` run the same query (identical after "
                        f"sqlglot normalization). Read `{dup.name}` from `{keep.name}` as a view "
                        "so the data is computed once; its name and downstream readers stay."
                    ),
                    evidence={
                        "duplicate_of": keep.name,
                        "fingerprint_sql_equal": True,
                        "mean_duration_s": mean,
                        "runs": ctx.signals.of(dup.name).runs,
                    },
                    expected_gain=(
                        f"one computation less per refresh (~{fmt_seconds(mean)})"
                        if mean
                        else "one computation less per refresh"
                    ),
                    score=20.0,
                )
            )
    return out


RULES = (duplicate_computation,)
