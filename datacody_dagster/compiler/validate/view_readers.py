"""DC106: a dbt view is read only by what can read the project's DuckDB file.

A `materialized: view` asset on DuckDB has no Parquet output: its rows are computed on read by
the view dbt creates in the project's DuckDB file. dbt models, Python assets (their inputs are
read through DuckDB), checks and the semantic layer read it there. Two kinds read their inputs
as Parquet files instead, and would fail at run time with "does not exist":

- a **Spark SQL** asset: Spark reads each upstream asset (SQL references and `deps:`) from its
  Parquet output;
- a **steps** asset (either engine): the steps read the `from:` asset's Parquet file or folder.

The diagnostic points at the reference and says how to fix it: make the upstream a table, or
the reader a SQL asset on DuckDB.
"""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import Entry, ProjectIndex
from datacody_dagster.compiler.kinds import asset_engine, asset_kind, spec_is_dbt_view
from datacody_dagster.compiler.validate.references import line_of
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec import AssetSpecModel


def _reads_parquet(entry: Entry, spec: AssetSpecModel) -> list[tuple[str, Location, str]]:
    """(upstream name, where it is named, what the reader does) for readers of Parquet files."""
    kind = asset_kind(spec)
    if kind == "steps" and spec.from_:
        return [(spec.from_, entry.location("from"), "steps read their `from:` asset's Parquet output")]
    if kind != "sql" or asset_engine(spec, entry.file.spec) != "spark":
        return []
    what = "Spark reads every upstream asset of a Spark SQL asset from its Parquet output"
    sql_at = entry.file.value_location(entry.section, entry.name, "sql")
    named = [
        (name, Location(sql_at.file, sql_at.line + line_of(spec.sql or "", name), sql_at.col), what)
        for name in entry.sql_refs
    ]
    named += [(name, entry.location("deps", i), what) for i, name in enumerate(spec.deps)]
    return named


def check(index: ProjectIndex) -> list[Diagnostic]:
    entries = index.by_name()
    diags = []
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel):
            continue
        seen: set[str] = set()
        for name, where, what in _reads_parquet(entry, spec):
            upstream = entries.get(name)
            if name in seen or upstream is None or not spec_is_dbt_view(upstream.spec, upstream.file.spec):
                continue
            seen.add(name)
            diags.append(
                Diagnostic(
                    errors.INVALID_ASSET,
                    f"asset `{entry.name}` reads `{name}`, a view in the project's DuckDB file "
                    f"(`materialized: view`, no Parquet output): {what}",
                    where,
                    f"remove `materialized: view` from `{name}` (at {upstream.location('materialized')}) "
                    "to store it as a table"
                    + ("" if spec.from_ else f", or set `engine: duckdb` on `{entry.name}`"),
                )
            )
    return diags
