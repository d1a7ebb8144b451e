"""A large steps output that its readers filter by date: partition it by that column."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from datacody_dagster.compiler.plan import Node
from datacody_dagster.compiler.sql import DIALECT
from datacody_dagster.optimizer.model import Proposal, SetPartitions
from datacody_dagster.optimizer.rules.base import RuleContext, is_time_column

RULE = "partition_large_table"
_RANGE = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ, exp.Between, exp.In)


def _filtered_time_columns(reader: Node, table: Node) -> list[str]:
    if not reader.canonical_sql:
        return []
    try:
        tree = sqlglot.parse_one(reader.canonical_sql, read=DIALECT)
    except sqlglot.errors.ParseError:
        return []
    known = set(table.columns or table.column_types)
    found: list[str] = []
    for where in tree.find_all(exp.Where):
        for cmp in where.find_all(*_RANGE):
            for col in cmp.find_all(exp.Column):
                name = col.name
                if (not known or name in known) and is_time_column(table, name) and name not in found:
                    found.append(name)
    return found


def partition_large_table(ctx: RuleContext) -> list[Proposal]:
    out = []
    for node in ctx.derived():
        # Only a steps asset writes partitioned folders (dbt, Spark SQL and Python write one file).
        if node.partition_by or not node.takes_partition_by:
            continue
        rows = ctx.signals.of(node.name).row_counts
        if not rows or rows[-1] < ctx.thresholds.large_rows:
            continue
        filters: dict[str, list[str]] = {}
        for reader in ctx.plan.downstream(node.name):
            for col in _filtered_time_columns(reader, node):
                filters.setdefault(col, []).append(reader.name)
        if not filters:
            continue
        column, readers = max(filters.items(), key=lambda kv: len(kv[1]))
        out.append(
            Proposal(
                rule=RULE,
                asset=node.name,
                patch=SetPartitions(columns=[column]),
                rationale=(
                    f"`{node.name}` holds {rows[-1]:,} rows and {', '.join(readers)} filter it by "
                    f"`{column}`. Partitioned by `{column}`, readers skip the files they do not need."
                ),
                evidence={"row_count": rows[-1], "filter_column": column, "filtering_readers": readers},
                expected_gain="readers scan only the partitions matching their date filter",
                score=8.0 + len(readers),
            )
        )
    return out


RULES = (partition_large_table,)
