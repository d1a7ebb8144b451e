"""A MetricFlow engine over the project's warehouse (see semantic/client.py for how it reads)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.semantic import SemanticLayer
from datacody_dagster.emit.semantic import TIME_SPINE_SQL
from datacody_dagster.engines.relations import connect_for_reading, relation_for
from datacody_dagster.errors import DatacodyError
from datacody_dagster.semantic.manifest import load_semantic_manifest


@dataclass
class SemanticEngine:
    """MetricFlow plus the layer it was compiled from; close() releases the connection."""

    project: CompiledProject
    layer: SemanticLayer
    mf: Any
    con: Any

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> SemanticEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quoted(*parts: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _ensure_schema(con: Any, database: str, schema: str, attached: set[str]) -> None:
    if database not in attached:
        if database not in {
            row[0] for row in con.execute("select database_name from duckdb_databases()").fetchall()
        }:
            con.execute(f"attach ':memory:' as {_quoted(database)}")
        attached.add(database)
    con.execute(f"create schema if not exists {_quoted(database, schema)}")


def _bind_relations(
    project: CompiledProject, manifest: Any, con: Any, only: Collection[str] | None = None
) -> None:
    """Views named like dbt's relations over each asset's current output (and the time spine);
    with ``only``, models outside it are bound when they have an output and skipped otherwise."""
    attached: set[str] = set()
    for model in manifest.semantic_models:
        rel = model.node_relation
        try:
            node = project.plan.node(rel.alias)
        except KeyError as exc:
            raise DatacodyError(
                f"semantic model `{model.name}` reads `{rel.alias}`, which is not an asset"
            ) from exc
        is_view = node.is_dbt_view
        if not is_view and not project.output_path(node).exists():
            if only is not None and node.name not in only:
                continue
            raise DatacodyError(
                f"`{node.name}` has no output yet: run `datacody materialize --select {node.name}` first"
            )
        _ensure_schema(con, rel.database or "memory", rel.schema_name, attached)
        target = _quoted(rel.database or "memory", rel.schema_name, rel.alias)
        con.execute(f"create or replace view {target} as select * from {relation_for(project, node)}")
    for spine in manifest.project_configuration.time_spines:
        rel = spine.node_relation
        _ensure_schema(con, rel.database or "memory", rel.schema_name, attached)
        con.execute(
            f"create or replace view {_quoted(rel.database or 'memory', rel.schema_name, rel.alias)} as "
            + TIME_SPINE_SQL
        )


def _connect(project: CompiledProject) -> Any:
    """In-memory DuckDB; the project's DuckDB file is attached only when a view asset needs it, so
    queries do not wait on (or fail at) the lock of a materialization that is writing it."""
    import duckdb

    nodes = [project.plan.node(m.name) for m in project.semantic.models]
    if any(n.is_dbt_view for n in nodes):
        return connect_for_reading(project)
    return duckdb.connect()


def _require_outputs(project: CompiledProject, only: Collection[str] | None = None) -> None:
    """Fail fast (before dbt and MetricFlow load) when a semantic model's asset has no output yet."""
    missing = []
    for model in project.semantic.models:
        if only is not None and model.name not in only:
            continue
        node = project.plan.node(model.name)
        is_view = node.is_dbt_view
        if not is_view and not project.output_path(node).exists():
            missing.append(node.name)
    if missing:
        raise DatacodyError(
            f"no output yet for {', '.join(f'`{m}`' for m in missing)}: "
            f"run `datacody materialize --select {' '.join(missing)}` first"
        )


ENGINE_MODULES = (
    "metricflow.engine.metricflow_engine",
    "metricflow_semantics.model.semantic_manifest_lookup",
    "metricflow_semantics.model.dbt_manifest_parser",
    "datacody_dagster.semantic.client",
    "datacody_dagster.semantic.query",
)
"""What :func:`open_engine` and an export import (a run building an export imports them ahead)."""


def open_engine(project: CompiledProject, only: Collection[str] | None = None) -> SemanticEngine:
    """MetricFlow over the warehouse's current outputs (raises DatacodyError when it cannot).

    ``only``: the semantic models a query needs (an export's deps); the others need no output.
    """
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    from datacody_dagster.semantic.client import DuckDbSqlClient

    _require_outputs(project, only)
    manifest = load_semantic_manifest(project)
    con = _connect(project)
    try:
        _bind_relations(project, manifest, con, only)
        mf = MetricFlowEngine(SemanticManifestLookup(manifest), DuckDbSqlClient(con))
    except BaseException:
        con.close()
        raise
    return SemanticEngine(project=project, layer=project.semantic, mf=mf, con=con)
