"""The asset-spec language as frozen pydantic models.

Field descriptions are the documentation: they become the JSON Schema that editors use to
validate and complete spec files (``datacody schema``). This module imports neither YAML,
Dagster nor dbt.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from datacody_dagster.spec.checks import CheckEntry
from datacody_dagster.spec.exports import ExportSpec
from datacody_dagster.spec.names import Name
from datacody_dagster.spec.semantic import MetricSpec, SemanticSpec

Engine = Literal["duckdb", "spark"]
Materialization = Literal["view", "table", "incremental"]
SourceFormat = Literal["csv", "parquet", "json", "text"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ColumnSpec(_Spec):
    """A column contract: its type, description and column-level checks."""

    type: str | None = Field(None, description="SQL type, e.g. integer, varchar, date, double.")
    description: str | None = None
    checks: list[CheckEntry] = Field(
        default_factory=list,
        description="Checks on this column; the column is implied (`[unique, not_null]`).",
    )


class OnCron(_Spec):
    on_cron: str = Field(description="Run when upstream data changed, at most once per cron tick.")


class IncrementalSpec(_Spec):
    """How an incremental asset picks new rows."""

    unique_key: Name | list[Name] | None = Field(None, description="Key used to merge new rows.")
    cursor: Name | None = Field(
        None, description="Monotonic column; only rows beyond the current maximum are read."
    )


class SourceSpec(_Spec):
    """A raw file (or glob of files) loaded as an asset."""

    path: str = Field(description="File or glob, relative to the project root.")
    format: SourceFormat | None = Field(None, description="Default: from the file extension.")
    description: str | None = None
    owners: list[str] | None = None
    options: dict[str, Any] = Field(
        default_factory=dict, description="Reader options, e.g. {delim: ';', header: true}."
    )
    columns: dict[Name, ColumnSpec] = Field(default_factory=dict)
    checks: list[CheckEntry] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)


class AssetSpecModel(_Spec):
    """A derived asset: SQL over other assets, or a Python transform."""

    description: str | None = None
    sql: str | None = Field(
        None,
        description="One SELECT; reference other assets by plain name (or {{ ref('x') }}).",
    )
    python: str | None = Field(
        None, description="`module:function` returning a table; upstream tables are passed by name."
    )
    deps: list[Name] = Field(
        default_factory=list, description="Extra upstream assets (SQL deps are inferred)."
    )
    materialized: Materialization = Field(
        "table",
        description="`table` (default, a Parquet file), `view` or `incremental`; `view` and `incremental` "
        "only on SQL assets on DuckDB (dbt models).",
    )
    incremental: IncrementalSpec | None = None
    columns: dict[Name, ColumnSpec] = Field(default_factory=dict)
    checks: list[CheckEntry] = Field(default_factory=list)
    schedule: str | None = Field(None, description="Cron schedule, e.g. '0 6 * * *'.")
    automation: Literal["eager"] | OnCron | None = Field(
        None, description="`eager` (on upstream change) or {on_cron: '...'}."
    )
    engine: Engine | None = Field(None, description="duckdb (default) or spark.")
    owners: list[str] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    partition_by: list[Name] | None = Field(
        None,
        description="Write a folder of Parquet files partitioned by these columns (steps assets only).",
    )
    from_: Name | None = Field(None, alias="from", description="Input asset of a `steps:` pipeline.")
    steps: list[dict[str, Any]] = Field(
        default_factory=list, description="Training-data steps applied in order to `from`."
    )
    semantic: SemanticSpec | None = Field(
        None, description="Entities, dimensions and measures: the asset as a MetricFlow semantic model."
    )

    @model_validator(mode="after")
    def _one_body(self) -> AssetSpecModel:
        bodies = [b for b in ("sql", "python", "from_") if getattr(self, b) is not None]
        if len(bodies) != 1:
            raise ValueError("an asset needs exactly one of `sql`, `python` or `from` (+ `steps`)")
        if self.schedule and self.automation:
            raise ValueError("set either `schedule` or `automation`, not both")
        return self


class SpecFile(_Spec):
    """One file of `asset_specs/`: a group of sources and assets."""

    group: Name | None = Field(None, description="Dagster group name; default: the file's stem.")
    description: str | None = None
    owners: list[str] = Field(default_factory=list, description="Inherited by every asset.")
    engine: Engine | None = Field(None, description="Default engine of the file's assets.")
    sources: dict[Name, SourceSpec] = Field(default_factory=dict)
    assets: dict[Name, AssetSpecModel] = Field(default_factory=dict)
    metrics: dict[str, MetricSpec] = Field(
        default_factory=dict, description="Metrics over the measures of `semantic:` assets (MetricFlow)."
    )
    exports: dict[Name, ExportSpec] = Field(
        default_factory=dict,
        description="Saved metric queries, each materialized as an asset of the group (Parquet, checked "
        "and versioned).",
    )
