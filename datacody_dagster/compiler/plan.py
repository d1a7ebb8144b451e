"""The plan: frozen data describing every node in topological order.

Everything downstream (dbt emitter, Dagster spec builder, checks, optimizer) reads the plan,
never the YAML. Fingerprints hash canonical SQL and config, so formatting or comment edits do
not change an asset's Dagster code version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.checks import PlannedCheck, plan_checks
from datacody_dagster.compiler.columns import known_columns, topological_names
from datacody_dagster.compiler.index import Entry, ProjectIndex
from datacody_dagster.compiler.kinds import NodeKind, asset_engine, asset_kind
from datacody_dagster.compiler.kinds import runs_in_dbt as kind_runs_in_dbt
from datacody_dagster.compiler.proofs import SqlProofs, sql_proofs
from datacody_dagster.errors import Location
from datacody_dagster.spec import AssetSpecModel, CheckEntry, OnCron, SourceSpec
from datacody_dagster.spec.steps import output_partition_by


@dataclass(frozen=True)
class Node:
    """One asset of the project (a source is an asset that loads a file)."""

    name: str
    group: str
    kind: NodeKind
    location: Location
    fingerprint: str
    description: str | None = None
    owners: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    engine: str = "duckdb"
    materialized: str = "table"
    sql: str | None = None
    canonical_sql: str | None = None
    python: str | None = None
    source_path: str | None = None
    source_format: str | None = None
    source_options: dict[str, Any] = field(default_factory=dict, hash=False)
    columns: tuple[str, ...] | None = None
    declared_columns: tuple[str, ...] = ()  # `columns:` as written (a source's load contract)
    column_types: dict[str, str] = field(default_factory=dict, hash=False)
    column_descriptions: dict[str, str] = field(default_factory=dict, hash=False)
    checks: tuple[PlannedCheck, ...] = ()
    schedule: str | None = None
    automation: str | None = None  # "eager" or "on_cron:<cron>"
    incremental_key: tuple[str, ...] = ()
    incremental_cursor: str | None = None
    partition_by: tuple[str, ...] = ()
    from_asset: str | None = None
    steps: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    proven_unique_keys: tuple[tuple[str, ...], ...] = ()
    """Column tuples the SQL makes unique by construction (GROUP BY keys, SELECT DISTINCT)."""
    proven_not_null: tuple[str, ...] = ()
    """Columns the SQL makes non-null by construction (WHERE x IS NOT NULL, COUNT)."""
    saved_query: dict[str, Any] = field(default_factory=dict, hash=False)
    """Exports: the metric query as written (metrics, group_by, where, order_by, limit)."""

    @property
    def is_source(self) -> bool:
        """A raw file loaded as an asset (``sources:``)."""
        return self.kind == "source"

    @property
    def runs_in_dbt(self) -> bool:
        """A SQL model that dbt runs on DuckDB: decided by ``kind`` ``sql`` and ``engine`` ``duckdb``
        (:func:`datacody_dagster.compiler.kinds.runs_in_dbt`).

        Only these are emitted to ``dbt_project/models/datacody/`` and invoked through dbt; a
        Spark SQL asset, a Python or steps asset, a source and an export run outside dbt.
        """
        return kind_runs_in_dbt(self.kind, self.engine)

    @property
    def is_dbt_view(self) -> bool:
        """A view dbt creates in the project's DuckDB file (:attr:`runs_in_dbt` and
        ``materialized: view``): its rows live there, computed on read, not in a Parquet file, so
        it is not versioned, staged, copied or promoted.

        The only kind of view: validation refuses ``materialized: view`` on every other kind
        (``compiler/validate/materialization.py``), and a node built without validation that
        carries it anyway is treated as what its runtime writes, a Parquet table.
        """
        return self.runs_in_dbt and self.materialized == "view"

    @property
    def parquet_inputs(self) -> tuple[str, ...]:
        """Upstream assets this node's runtime reads as Parquet files rather than through DuckDB:
        every upstream of a Spark SQL asset, the ``from:`` of a steps asset. None of them can be a
        dbt view (no Parquet output): ``compiler/validate/view_readers.py`` refuses it."""
        if self.kind == "steps":
            return (self.from_asset,) if self.from_asset else ()
        if self.kind == "sql" and self.engine == "spark":
            return self.deps
        return ()

    @property
    def takes_partition_by(self) -> bool:
        """Whether an asset-level ``partition_by`` may be set: only steps assets write partitioned
        folders (``compiler/validate/partitions.py``), and not when an ``output`` step says it."""
        return self.kind == "steps" and not any("output" in step for step in self.steps)

    def output_relpath(self, warehouse_dir: str) -> str:
        """Where the asset's Parquet output lives, relative to the project root."""
        suffix = "" if self.partition_by else ".parquet"
        return f"{warehouse_dir}/{self.group}/{self.name}{suffix}"


@dataclass(frozen=True)
class ProjectPlan:
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def downstream(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.deps]

    def groups(self) -> list[str]:
        return sorted({n.group for n in self.nodes})

    def checks(self) -> list[PlannedCheck]:
        return [c for n in self.nodes for c in n.checks]


def _entry_checks(entry: Entry) -> list[PlannedCheck]:
    triples: list[tuple[CheckEntry, str | None, Location | None]] = []
    for i, c in enumerate(entry.spec.checks):
        loc = entry.location("checks", i)
        triples.append((c, None, loc))
    for col, col_spec in entry.spec.columns.items():
        for i, c in enumerate(col_spec.checks):
            loc = entry.location("columns", col, "checks", i)
            triples.append((c, col, loc))
    return plan_checks(entry.name, triples)


def _source_format(spec: SourceSpec) -> str:
    if spec.format:
        return spec.format
    suffix = Path(spec.path.replace("*", "x")).suffix.lower().lstrip(".")
    return {"jsonl": "json", "ndjson": "json", "pq": "parquet", "tsv": "csv"}.get(suffix, suffix or "csv")


def _config_fingerprint(*items: Any) -> str:
    return json.dumps(items, sort_keys=True, default=str)


def build_plan(index: ProjectIndex) -> ProjectPlan:
    """Plan a validated index (call validation first: this assumes no errors)."""
    entries = index.by_name()
    cols = known_columns(index)
    nodes: list[Node] = []
    for name in topological_names(index):
        entry = entries[name]
        spec = entry.spec
        pf = entry.file
        loc = entry.location()
        owners = tuple(spec.owners if spec.owners is not None else pf.spec.owners)
        checks = tuple(_entry_checks(entry))
        col_types = {c: s.type for c, s in spec.columns.items() if s.type}
        col_desc = {c: s.description for c, s in spec.columns.items() if s.description}
        known = cols.get(name)
        if isinstance(spec, SourceSpec):
            fmt = _source_format(spec)
            fp = sqlmod.fingerprint("source", spec.path, fmt, _config_fingerprint(spec.options, col_types))
            nodes.append(
                Node(
                    name=name,
                    group=pf.group,
                    kind="source",
                    location=loc,
                    fingerprint=fp,
                    description=spec.description,
                    owners=owners,
                    source_path=spec.path,
                    source_format=fmt,
                    source_options=dict(spec.options),
                    columns=tuple(known) if known else None,
                    declared_columns=tuple(spec.columns),
                    column_types=col_types,
                    column_descriptions=col_desc,
                    checks=checks,
                    tags=dict(spec.tags),
                    engine=asset_engine(spec, pf.spec),
                )
            )
            continue
        assert isinstance(spec, AssetSpecModel)
        engine = asset_engine(spec, pf.spec)
        automation = None
        if spec.automation == "eager":
            automation = "eager"
        elif isinstance(spec.automation, OnCron):
            automation = f"on_cron:{spec.automation.on_cron}"
        inc_key: tuple[str, ...] = ()
        if spec.incremental and spec.incremental.unique_key:
            key = spec.incremental.unique_key
            inc_key = (key,) if isinstance(key, str) else tuple(key)
        kind = asset_kind(spec)
        # An incremental asset accumulates rows across runs: its SQL alone proves nothing.
        proofs = (
            sql_proofs(entry.query)
            if entry.query is not None and spec.materialized != "incremental"
            else SqlProofs()
        )
        canonical = sqlmod.canonical_sql(entry.query) if entry.query is not None else None
        body = canonical or spec.python or _config_fingerprint(spec.from_, spec.steps)
        config = _config_fingerprint(
            spec.materialized,
            engine,
            inc_key,
            spec.incremental.cursor if spec.incremental else None,
            spec.partition_by,
            col_types,
        )
        nodes.append(
            Node(
                name=name,
                group=pf.group,
                kind=kind,
                location=loc,
                fingerprint=sqlmod.fingerprint(kind, body, config),
                description=spec.description,
                owners=owners,
                deps=tuple(d for d in entry.declared_deps() if d in entries),
                engine=engine,
                materialized=spec.materialized,
                sql=spec.sql,
                canonical_sql=canonical,
                python=spec.python,
                columns=tuple(known) if known else None,
                column_types=col_types,
                column_descriptions=col_desc,
                checks=checks,
                schedule=spec.schedule,
                automation=automation,
                incremental_key=inc_key,
                incremental_cursor=spec.incremental.cursor if spec.incremental else None,
                partition_by=tuple(spec.partition_by or output_partition_by(spec.steps)),
                from_asset=spec.from_,
                steps=tuple(spec.steps),
                tags=dict(spec.tags),
                proven_unique_keys=proofs.unique_keys,
                proven_not_null=proofs.not_null,
            )
        )
    nodes.extend(_export_nodes(index))
    return ProjectPlan(nodes=tuple(nodes))


def _export_nodes(index: ProjectIndex) -> list[Node]:
    """`exports:` as nodes after every asset (nothing reads an export)."""
    from datacody_dagster.compiler.exports import (
        export_checks,
        export_fingerprint,
        exports_of,
        resolve_export,
        saved_query,
    )
    from datacody_dagster.compiler.semantic_plan import build_semantic_layer

    exports = exports_of(index.files)
    if not exports:
        return []
    layer = build_semantic_layer(index)
    nodes: list[Node] = []
    for pf, name, spec in exports:
        resolved = resolve_export(layer, spec)
        nodes.append(
            Node(
                name=name,
                group=pf.group,
                kind="export",
                location=pf.location("exports", name),
                fingerprint=export_fingerprint(layer, spec, resolved),
                description=spec.description or spec.label,
                owners=tuple(spec.owners if spec.owners is not None else pf.spec.owners),
                deps=resolved.models,
                columns=resolved.columns,
                checks=tuple(export_checks(pf, name, spec)),
                schedule=spec.schedule,
                automation=spec.automation,
                tags=dict(spec.tags),
                saved_query=saved_query(spec),
            )
        )
    return nodes
