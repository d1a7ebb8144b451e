"""Spark engine: sessions (local, standalone cluster, Spark Connect), DuckDB-to-Spark SQL, Parquet I/O.

Spark writes folders of part files; the output contract is one Parquet file per asset (or a
hive-partitioned folder), so results are coalesced, written beside the target and moved into
place atomically. Downstream DuckDB assets read them unchanged.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlglot
from sqlglot import exp

from datacody_dagster.compiler.sql import strip_jinja_refs
from datacody_dagster.config import SparkSettings
from datacody_dagster.engines.atomic import discard, place, temp_sibling
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

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

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SparkUnreachable(DatacodyError):
    """The master or Spark Connect server does not answer (stopped, wrong URL, firewall)."""


def session_config(settings: SparkSettings) -> dict[str, str]:
    """The Spark configuration for ``settings``: our defaults, then the project's ``conf``.

    ``remote`` (Spark Connect) becomes ``spark.remote``; otherwise ``master`` becomes
    ``spark.master``. A cluster on loopback keeps the driver on loopback too, so executors call
    back to 127.0.0.1 and not to another interface of the machine.
    """
    if settings.remote:
        # A Connect client has no driver of its own: the server owns master, memory and other
        # static settings; the SQL settings apply to this client's session.
        sql_conf = {k: v for k, v in DEFAULT_CONF.items() if k.startswith("spark.sql.")}
        return {"spark.remote": settings.remote, **sql_conf, **settings.conf}
    conf = {**DEFAULT_CONF, "spark.master": settings.master, "spark.app.name": "datacody"}
    conf["spark.pyspark.python"] = sys.executable
    if _host(settings.master) in _LOOPBACK:
        conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
    return {**conf, **settings.conf}


def endpoint(config: Mapping[str, str]) -> str | None:
    """The cluster URL a configuration talks to (None for local mode)."""
    url = config.get("spark.remote") or config.get("spark.master", "")
    return url if url.startswith(("spark://", "sc://")) else None


def _host(url: str) -> str | None:
    parsed = urlparse(url.replace("spark://", "tcp://", 1).split(",")[0])
    return parsed.hostname if parsed.scheme in ("tcp", "sc") else None


def probe(url: str, timeout_s: float) -> None:
    """Raise :class:`SparkUnreachable` naming ``url`` unless a master/server accepts a TCP
    connection within ``timeout_s`` (retried, so a server that is still starting is waited for).
    """
    parsed = urlparse(url.replace("spark://", "tcp://", 1).split(",")[0])
    host, port = parsed.hostname or "127.0.0.1", parsed.port or (15002 if url.startswith("sc://") else 7077)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(0.1, min(5.0, timeout_s))):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise unreachable(url, timeout_s, str(exc)) from None
            time.sleep(0.5)


def unreachable(url: str, timeout_s: float, reason: str) -> SparkUnreachable:
    """The error of a run whose Spark master or Connect server does not answer."""
    what = "Spark Connect server" if url.startswith("sc://") else "Spark master"
    return SparkUnreachable(
        Diagnostic(
            RUNTIME,
            f"the {what} {url} did not answer within {timeout_s:g} s ({reason})",
            hint="start it, or point spark.master / spark.remote in resources/<env>.yaml at a "
            "running one (spark.connect_timeout_s sets the wait)",
        )
    )


def open_session(config: Mapping[str, str], timeout_s: float = 30.0) -> Any:
    """A SparkSession for ``config``, built by dagster-pyspark (classic or Spark Connect).

    A cluster that does not answer within ``timeout_s`` is an error naming its URL, never a
    hang: the TCP endpoint is probed first, and a Connect client retries for about
    ``timeout_s`` before a call fails. Only one classic SparkContext lives in a process, so
    a running one for another master is stopped first.
    """
    from dagster_pyspark.resources import spark_session_from_config
    from pyspark.sql import SparkSession

    url = endpoint(config)
    if url is not None:
        probe(url, timeout_s)
    remote = "spark.remote" in config
    with _lock:
        if not remote:
            active = SparkSession.getActiveSession()
            if active is not None and active.sparkContext.master != config.get("spark.master"):
                active.stop()
            # pyspark leaves SPARK_CONNECT_MODE_ENABLED set after a Connect session in this
            # process, which turns every later classic session into a Connect request.
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
            # Python workers must run this interpreter, which has the package and its kernels.
            os.environ["PYSPARK_PYTHON"] = sys.executable
            if url is not None and _host(url) in _LOOPBACK:
                os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        session = spark_session_from_config(dict(config))
    if remote:
        _bound_retries(session, timeout_s)
    else:
        session.sparkContext.setLogLevel("ERROR")
        if url is not None:
            _wait_for_executors(session, url, max(timeout_s, EXECUTOR_WAIT_S))
    return session


EXECUTOR_WAIT_S = 60.0
"""Least time a standalone application waits for its first executor (JVMs start slowly)."""


def _wait_for_executors(session: Any, url: str, timeout_s: float) -> None:
    """Fail instead of waiting forever when the master gives this application no executor
    (no live worker, or none with the cores and memory asked for)."""
    status = session.sparkContext._jsc.sc().getExecutorMemoryStatus
    deadline = time.monotonic() + timeout_s
    while status().size() <= 1:  # the driver counts as one
        if time.monotonic() >= deadline:
            session.stop()
            raise SparkUnreachable(
                Diagnostic(
                    RUNTIME,
                    f"the Spark master {url} gave this application no executor within {timeout_s:g} s",
                    hint="start a worker with free cores and enough memory for spark.executor.memory "
                    "(and spark.cores.max), or lower them in resources/<env>.yaml",
                )
            )
        time.sleep(0.5)


def _bound_retries(session: Any, timeout_s: float) -> None:
    """Cap the Connect client's retries (10 minutes by default) at about ``timeout_s``."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    # Backoffs 50, 200, 800, 3200 ms, then 5 s each.
    retries = 4 + max(0, math.ceil((timeout_s * 1000 - 4250) / 5000))
    session.client.set_retry_policies([DefaultPolicy(max_retries=retries, max_backoff=5000)])


@contextlib.contextmanager
def cluster_errors(config: Mapping[str, str], timeout_s: float) -> Iterator[None]:
    """Turn a failure of Spark work into :class:`SparkUnreachable` naming the URL when the
    master or Connect server went away during it (other failures pass through unchanged).
    """
    try:
        yield
    except DatacodyError:
        raise
    except Exception:
        url = endpoint(config)
        if url is None:
            raise
        probe(url, min(timeout_s, 3.0))
        raise


def spark_session(settings: SparkSettings | None = None) -> Any:
    """A SparkSession for ``settings`` outside Dagster (CLI, tests, benchmarks).

    Inside Dagster, sessions come from the ``spark`` resource
    (:class:`datacody_dagster.engines.spark_resource.SparkResource`), which calls the same
    :func:`open_session`.
    """
    settings = settings or SparkSettings()
    return open_session(session_config(settings), settings.connect_timeout_s)


def as_session(spark: Any) -> Any:
    """A session from a session (returned as is) or from :class:`SparkSettings` / None."""
    if spark is None or isinstance(spark, SparkSettings):
        return spark_session(spark)
    return spark


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


def materialize_sql(sql: str, inputs: Mapping[str, Path], output: Path, spark: Any = None) -> None:
    """Run an asset's DuckDB-dialect SELECT on Spark and write one Parquet file at ``output``.

    ``inputs`` maps each plain name the SQL references to its Parquet output (file or folder).
    ``spark`` is a SparkSession (from the ``spark`` resource) or :class:`SparkSettings`.
    Views get unique names per call, so concurrent materializations in one session never clash.
    """
    spark = as_session(spark)
    suffix = uuid.uuid4().hex[:8]
    views = {name: f"{name}__dc_{suffix}" for name in inputs}
    try:
        for name, path in inputs.items():
            read_parquet(spark, path).createOrReplaceTempView(views[name])
        write_parquet_file(spark.sql(to_spark_sql(sql, views)), output)
    finally:
        for view in views.values():
            spark.catalog.dropTempView(view)
