"""Spark engine: a cached local (or cluster) session, DuckDB-to-Spark SQL, Parquet I/O.

Spark writes folders of part files; the output contract is one Parquet file per asset (or a
hive-partitioned folder), so results are coalesced, written beside the target and moved into
place atomically. Downstream DuckDB assets read them unchanged.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from datacody_dagster.compiler.sql import strip_jinja_refs
from datacody_dagster.config import SparkSettings
from datacody_dagster.engines.atomic import discard, place, temp_sibling

DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.driver.memory": "2g",
    "spark.ui.showConsoleProgress": "false",
}

_lock = threading.Lock()
_sessions: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


def spark_session(settings: SparkSettings | None = None) -> Any:
    """The process's SparkSession for ``settings`` (started once, ~10 s; local mode by default).

    Only one SparkContext can live in a process: asking for different settings after a session
    started returns the running one.
    """
    from pyspark.sql import SparkSession

    settings = settings or SparkSettings()
    key = (settings.master, tuple(sorted(settings.conf.items())))
    with _lock:
        if key in _sessions:
            return _sessions[key]
        active = SparkSession.getActiveSession()
        if active is not None:
            _sessions[key] = active
            return active
        # Python workers must run this interpreter, which has the package and its kernels.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.master(settings.master).appName("datacody")
        for k, v in {**DEFAULT_CONF, "spark.pyspark.python": sys.executable, **settings.conf}.items():
            builder = builder.config(k, v)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        _sessions[key] = session
        return session


def to_spark_sql(sql: str, tables: Mapping[str, str] | None = None) -> str:
    """Translate one DuckDB-dialect SELECT to Spark SQL, renaming tables per ``tables``.

    ``{{ ref('x') }}`` and ``{{ source('s', 'x') }}`` are accepted and become ``x``.
    """
    tree = sqlglot.parse_one(strip_jinja_refs(sql), read="duckdb")
    if tables:
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if not table.db and table.name in tables and table.name not in ctes:
                alias = table.alias or table.name
                table.set("this", exp.to_identifier(tables[table.name]))
                table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return tree.sql(dialect="spark")


def read_parquet(spark: Any, path: Path) -> Any:
    """A Parquet file, or a hive-partitioned folder of them, as a DataFrame."""
    return spark.read.parquet(str(path))


def _part_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))


def write_parquet_file(df: Any, output: Path, compression: str = "zstd") -> None:
    """Write ``df`` as ONE Parquet file at ``output``, atomically."""
    tmp = temp_sibling(output)
    try:
        df.coalesce(1).write.option("compression", compression).parquet(str(tmp))
        parts = _part_files(tmp)
        if len(parts) != 1:
            raise RuntimeError(f"expected one part file from Spark, found {len(parts)}")
        part = parts[0]
        single = temp_sibling(output)
        os.replace(part, single)
        place(single, output)
    finally:
        discard(tmp)


def write_parquet_folder(
    df: Any, output: Path, partition_by: Sequence[str], compression: str = "zstd"
) -> None:
    """Write a hive-partitioned folder (one file per partition value) atomically at ``output``."""
    tmp = temp_sibling(output)
    try:
        writer = df.repartition(*partition_by).write if partition_by else df.coalesce(1).write
        writer.partitionBy(*partition_by).option("compression", compression).parquet(str(tmp))
        for junk in [*tmp.rglob("_SUCCESS"), *tmp.rglob(".*.crc")]:
            junk.unlink()
        place(tmp, output)
    except BaseException:
        discard(tmp)
        raise


def materialize_sql(
    sql: str, inputs: Mapping[str, Path], output: Path, settings: SparkSettings | None = None
) -> None:
    """Run an asset's DuckDB-dialect SELECT on Spark and write one Parquet file at ``output``.

    ``inputs`` maps each plain name the SQL references to its Parquet output (file or folder).
    Views get unique names per call, so concurrent materializations in one session never clash.
    """
    spark = spark_session(settings)
    suffix = uuid.uuid4().hex[:8]
    views = {name: f"{name}__dc_{suffix}" for name in inputs}
    try:
        for name, path in inputs.items():
            read_parquet(spark, path).createOrReplaceTempView(views[name])
        write_parquet_file(spark.sql(to_spark_sql(sql, views)), output)
    finally:
        for view in views.values():
            spark.catalog.dropTempView(view)
