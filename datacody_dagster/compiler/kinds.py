"""An asset's kind and engine from its spec, and which kinds dbt runs: the one place they are derived.

The plan's :class:`~datacody_dagster.compiler.plan.Node` (``runs_in_dbt``, ``is_dbt_view``) and
the validation rules read these, so "is this a dbt model" has one answer before and after planning.
"""

from __future__ import annotations

from typing import Literal

from datacody_dagster.spec import AssetSpecModel, SourceSpec, SpecFile

NodeKind = Literal["source", "sql", "python", "steps", "export"]

DBT_ONLY_MATERIALIZATIONS = frozenset({"view", "incremental"})
"""Materializations only dbt implements (a view in the project's DuckDB file; an incremental merge).
Every other runtime writes a whole Parquet file per run: a table."""


def asset_kind(spec: AssetSpecModel) -> NodeKind:
    """``sql``, ``python`` or ``steps`` (an asset has exactly one body: the spec model checks it)."""
    return "sql" if spec.sql is not None else "python" if spec.python else "steps"


def asset_engine(spec: AssetSpecModel | SourceSpec, file: SpecFile) -> str:
    """The asset's ``engine:``, else its file's, else ``duckdb``."""
    own = spec.engine if isinstance(spec, AssetSpecModel) else None
    return own or file.engine or "duckdb"


def runs_in_dbt(kind: str, engine: str) -> bool:
    """A SQL asset on DuckDB: emitted as a dbt model and run by dbt. A Spark SQL asset, a Python or
    steps asset, a source and an export run outside dbt."""
    return kind == "sql" and engine == "duckdb"


def spec_is_dbt_view(spec: AssetSpecModel | SourceSpec, file: SpecFile) -> bool:
    """``materialized: view`` on a SQL asset on DuckDB: a view dbt creates in the project's DuckDB
    file (no Parquet output). The spec-level twin of ``Node.is_dbt_view``."""
    return (
        isinstance(spec, AssetSpecModel)
        and spec.materialized == "view"
        and runs_in_dbt(asset_kind(spec), asset_engine(spec, file))
    )
