"""DC106: `partition_by:` only on steps assets, the one kind whose runtime writes a partitioned folder.

The plan treats an asset with `partition_by` as a folder of hive-partitioned Parquet files
(`data/warehouse/<group>/<asset>/`), and readers, checks and DVC read it so. Only the steps
runtime writes one (DuckDB or Spark, `partition_by` on the asset or in the `output` step). The
dbt, Spark SQL and Python runtimes write a single Parquet file and ignore `partition_by`: the
file then sits where a folder is expected, and every reader fails ("No files found").

The diagnostic points at the key and says how to fix it: remove it, or partition in a steps
asset that reads this one.
"""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.kinds import asset_engine, asset_kind, runs_in_dbt
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel

_WRITES = {
    "sql": "writes one Parquet file",
    "python": "writes the function's result to one Parquet file",
}


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags = []
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel) or not spec.partition_by:
            continue
        kind = asset_kind(spec)
        if kind == "steps":
            continue
        if kind == "python":
            runtime = "Python"
        else:
            runtime = "dbt" if runs_in_dbt(kind, asset_engine(spec, entry.file.spec)) else "Spark"
        diags.append(
            Diagnostic(
                errors.INVALID_ASSET,
                f"asset `{entry.name}`: `partition_by` is written only by steps assets; "
                f"{runtime} {_WRITES[kind]}, where readers would look for a partitioned folder",
                entry.location("partition_by"),
                f"remove `partition_by`, or partition in a steps asset: `from: {entry.name}` with "
                "`steps: [{output: {partition_by: [" + ", ".join(spec.partition_by) + "]}}]`",
            )
        )
    return diags
