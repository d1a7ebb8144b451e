"""DC106: `materialized: view` and `materialized: incremental` only on SQL assets that dbt runs on DuckDB.

Which kinds accept which `materialized:`, and why:

- **SQL on DuckDB** (a dbt model): `table` (default), `view`, `incremental`. dbt creates the view
  in the project's DuckDB file, where downstream models, checks and the semantic layer read it;
  an incremental model merges new rows into its table before its Parquet copy is written.
- **SQL on Spark**: `table` only. The Spark runtime registers its inputs as temporary views,
  writes the query's result to one Parquet file and drops the views: no Spark view outlives the
  step for anything to read, and every run rewrites the whole output (no incremental merge).
  Accepting `view` made the rest of the project treat a stored Parquet file as a view: not
  versioned by DVC, not promoted by `apply`.
- **Python** and **steps** (training-data) assets: `table` only. The function's result and the
  steps' output are written whole to Parquet each run; neither engine can express a view or merge.
- **Sources** and **exports**: no `materialized:` key at all (the spec model refuses it, DC002).

The diagnostic points at the `materialized:` key and says how to fix it: remove the key, or make
the asset a SQL asset on DuckDB. An `incremental:` block (key, cursor) without
`materialized: incremental` is refused too: nothing would read it.
"""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import Entry, ProjectIndex
from datacody_dagster.compiler.kinds import DBT_ONLY_MATERIALIZATIONS, asset_engine, asset_kind, runs_in_dbt
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel

_WRITTEN = {
    "python": "its Python function's result is written to a Parquet file, whole, each run",
    "steps": "its steps' output is written to Parquet, whole, each run",
}
_DBT_DOES = {"view": "dbt creates the view", "incremental": "dbt merges the new rows"}


def _diagnostic(entry: Entry, spec: AssetSpecModel, kind: str) -> Diagnostic:
    materialized = spec.materialized
    if kind == "sql":
        where = "on the asset" if spec.engine else "by the file's `engine:`"
        what = f"Spark (`engine: spark`, set {where}) writes its result to a Parquet file, whole, each run"
        fix = (
            f"remove `materialized: {materialized}` (a Spark SQL asset is a table), or set "
            "`engine: duckdb` on the asset to have dbt build it"
        )
    else:
        what = _WRITTEN[kind]
        fix = f"remove `materialized: {materialized}` (the asset is a table) or make it a SQL asset on DuckDB"
    return Diagnostic(
        errors.INVALID_ASSET,
        f"asset `{entry.name}`: `materialized: {materialized}` needs a SQL asset that dbt runs on "
        f"DuckDB ({_DBT_DOES[materialized]}); {what}",
        entry.location("materialized"),
        fix,
    )


def _unused_incremental(entry: Entry, spec: AssetSpecModel) -> Diagnostic:
    return Diagnostic(
        errors.INVALID_ASSET,
        f"asset `{entry.name}`: `incremental:` is read only with `materialized: incremental`; "
        f"this asset is `materialized: {spec.materialized}`, rebuilt whole on every run",
        entry.location("incremental"),
        "add `materialized: incremental`, or remove `incremental:`",
    )


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags = []
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel):
            continue
        if spec.incremental is not None and spec.materialized != "incremental":
            diags.append(_unused_incremental(entry, spec))
        if spec.materialized not in DBT_ONLY_MATERIALIZATIONS:
            continue
        kind = asset_kind(spec)
        if not runs_in_dbt(kind, asset_engine(spec, entry.file.spec)):
            diags.append(_diagnostic(entry, spec, kind))
    return diags
