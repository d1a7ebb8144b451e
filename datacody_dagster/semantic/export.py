"""Materialize an export: its saved query through MetricFlow, written as the asset's candidate.

The runtime stages, checks, publishes (or quarantines) and versions the candidate like any
other asset's (``runtime/assets.py``); this module only produces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic


def write_export(project: CompiledProject, node: Node, staged: Path) -> str:
    """Run the export's query on the warehouse's current outputs, write it to ``staged``;
    return MetricFlow's SQL."""
    from datacody_dagster.engines.atomic import write_parquet_atomic
    from datacody_dagster.semantic.engine import open_engine
    from datacody_dagster.semantic.query import query_table
    from datacody_dagster.spec.query import MetricQuery

    query = MetricQuery(**node.saved_query)
    if not query.order_by:  # a fixed row order: the same data gives the same bytes (DVC hash)
        query = query.model_copy(update={"order_by": list(query.group_by)})
    try:
        with open_engine(project, only=node.deps) as engine:
            sql, table = query_table(engine, query)
    except DatacodyError as exc:
        raise DatacodyError(
            [
                Diagnostic(RUNTIME, f"export `{node.name}`: {d.message}", d.location or node.location, d.hint)
                for d in exc.diagnostics
            ]
        ) from None
    write_parquet_atomic(table, staged)
    return sql


def produce_export(
    project: CompiledProject, node: Node, staged: Path, context: Any = None, spark: Any = None
) -> dict[str, object]:
    """The export producer the code location hands to ``runtime.assets.build_assets``."""
    import dagster as dg

    sql = write_export(project, node, staged)
    return {
        "datacody/saved_query": dg.MetadataValue.json(node.saved_query),
        "datacody/metricflow_sql": dg.MetadataValue.md(f"```sql\n{sql.strip()}\n```"),
    }
