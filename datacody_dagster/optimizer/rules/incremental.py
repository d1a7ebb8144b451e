"""A full-refresh table over an append-only source whose run time grows: make it incremental."""

from __future__ import annotations

import itertools

from datacody_dagster.compiler.plan import Node
from datacody_dagster.optimizer.model import Proposal, SetIncremental
from datacody_dagster.optimizer.rules.base import RuleContext, increasing_share, is_time_column

RULE = "full_refresh_over_append_only"


def _append_only(row_counts: list[int]) -> bool:
    return (
        len(row_counts) >= 2
        and all(b >= a for a, b in itertools.pairwise(row_counts))
        and row_counts[-1] > row_counts[0]
    )


def _key_and_cursor(node: Node) -> tuple[list[str], str | None]:
    key: list[str] = []
    for check in node.checks:
        if check.kind == "unique":
            key = list(check.columns)
            break
    columns = list(node.columns or node.column_types)
    if not key:
        ids = [c for c in columns if c.lower() == "id" or c.lower().endswith("_id")]
        key = ids[:1]
    cursor = next((c for c in columns if is_time_column(node, c)), None)
    return key, cursor


def full_refresh_over_append_only(ctx: RuleContext) -> list[Proposal]:
    out = []
    th = ctx.thresholds
    for node in ctx.derived():
        # Only dbt merges increments (a Spark SQL asset rewrites its Parquet file on every run).
        if node.materialized != "table" or not node.runs_in_dbt or node.partition_by:
            continue
        growing_up = [d for d in node.deps if _append_only(ctx.signals.of(d).row_counts)]
        if not growing_up:
            continue
        own = ctx.signals.of(node.name)
        durations = own.durations
        if len(durations) < th.min_runs or durations[0] <= 0:
            continue
        growth = durations[-1] / durations[0]
        if growth < th.growth_ratio or increasing_share(durations) < 0.6:
            continue
        key, cursor = _key_and_cursor(node)
        if not key and not cursor:
            continue
        up_rows = {d: ctx.signals.of(d).row_counts for d in growing_up}
        out.append(
            Proposal(
                rule=RULE,
                asset=node.name,
                patch=SetIncremental(unique_key=key, cursor=cursor),
                rationale=(
                    f"`{node.name}` is rebuilt in full each run while its input "
                    f"{', '.join(f'`{d}`' for d in growing_up)} only grows (row counts never "
                    f"decrease), and its run time grew {growth:.1f}x over {len(durations)} runs. "
                    "Incrementally it processes only new rows"
                    + (f", merged on ({', '.join(key)})" if key else "")
                    + (f", new beyond max `{cursor}`" if cursor else "")
                    + "."
                ),
                evidence={
                    "durations_s": [round(d, 3) for d in durations],
                    "duration_growth": round(growth, 2),
                    **{f"{d}_row_counts": rows for d, rows in up_rows.items()},
                    "unique_key": key,
                    "cursor": cursor,
                },
                expected_gain=(
                    f"run time back to ~{durations[0]:.2f} s instead of growing ({durations[-1]:.2f} s now)"
                ),
                score=12.0 + growth,
            )
        )
    return out


RULES = (full_refresh_over_append_only,)
