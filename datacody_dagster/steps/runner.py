"""Run an asset's step pipeline: read the input, apply each step, write the output atomically."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from datacody_dagster.config import SparkSettings
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.spec.steps import OutputArgs, StepArgs, StepSpecError, parse_step
from datacody_dagster.steps.base import PERSISTED, ROW_KEY
from datacody_dagster.steps.registry import STEPS

_SUMMARY_KEYS = {"scan_secrets": "secrets", "scan_pii": "pii"}


def _parse(steps: Sequence[Mapping[str, Any]]) -> list[tuple[str, StepArgs]]:
    parsed = []
    for i, item in enumerate(steps):
        try:
            parsed.append(parse_step(item))
        except (StepSpecError, ValidationError) as exc:
            raise DatacodyError(Diagnostic(RUNTIME, f"step {i + 1}: {exc}")) from None
    return parsed


def _output_args(parsed: list[tuple[str, StepArgs]], partition_by: Sequence[str]) -> OutputArgs:
    outputs = [a for k, a in parsed if k == "output"]
    if outputs and isinstance(outputs[-1], OutputArgs):
        return outputs[-1]
    return OutputArgs(partition_by=list(partition_by))


def _summarise(
    records: list[dict[str, Any]],
    rows_in: int,
    rows_out: int,
    engine: str,
    output: Path,
    out_args: OutputArgs,
    files: int,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "engine": engine,
        "rows_in": rows_in,
        "rows_out": rows_out,
        "steps": records,
        "output": str(output),
        "partition_by": list(out_args.partition_by),
        "files": files,
    }
    for rec in records:
        if rec["kind"] in _SUMMARY_KEYS:
            meta.setdefault("scan", {})[_SUMMARY_KEYS[rec["kind"]]] = {
                k: rec[k] for k in ("rows_flagged", "rows_by_kind", "matches_by_kind", "action")
            }
        if rec["kind"] == "augment":
            meta["augmented"] = {k: rec[k] for k in ("label", "target_share", "rows_added", "classes")}
        if rec["kind"] == "dedup":
            meta["duplicates"] = {
                "clusters": rec["duplicate_clusters"],
                "removed": rec["rows_in"] - rec["rows_out"],
            }
    return meta


def _run_arrow(
    input: Path, parsed: list[tuple[str, StepArgs]], output: Path, out_args: OutputArgs
) -> dict[str, Any]:
    from datacody_dagster.steps.io import read_input, write_output

    table = read_input(input)
    rows_in = table.num_rows
    records = []
    for i, (kind, args) in enumerate(parsed):
        start, before = time.perf_counter(), table.num_rows
        table, meta = STEPS[kind].run_arrow(table, args)
        records.append(
            {
                "step": i + 1,
                "kind": kind,
                "rows_in": before,
                "rows_out": table.num_rows,
                "seconds": round(time.perf_counter() - start, 3),
                **meta,
            }
        )
    table = table.sort_by(ROW_KEY).drop_columns([ROW_KEY])
    files = write_output(table, output, out_args.partition_by, out_args.compression)
    return _summarise(records, rows_in, table.num_rows, "duckdb", output, out_args, files)


def _run_spark(
    input: Path,
    parsed: list[tuple[str, StepArgs]],
    output: Path,
    out_args: OutputArgs,
    settings: SparkSettings | Any,
) -> dict[str, Any]:
    from pyspark import StorageLevel
    from pyspark.sql import Column
    from pyspark.sql import functions as F

    from datacody_dagster.engines.spark import as_session, write_parquet_file, write_parquet_folder
    from datacody_dagster.steps.spark_io import read_input

    spark = as_session(settings)
    cached: list[Any] = []
    try:
        df = read_input(spark, input).persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(df)
        rows_in = before = df.count()
        records = []
        for i, (kind, args) in enumerate(parsed):
            start = time.perf_counter()
            out, meta = STEPS[kind].run_spark(df, args)
            cached.extend(meta.pop(PERSISTED, []))
            deferred = {k: v for k, v in meta.items() if isinstance(v, Column)}
            out = out.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(out)
            # One pass per step: its row count and any aggregate metadata the step deferred.
            row = out.agg(
                F.count(F.lit(1)).alias("_rows"), *[v.alias(k) for k, v in deferred.items()]
            ).collect()[0]
            after = int(row["_rows"])
            meta.update({k: int(row[k] or 0) for k in deferred})
            records.append(
                {
                    "step": i + 1,
                    "kind": kind,
                    "rows_in": before,
                    "rows_out": after,
                    "seconds": round(time.perf_counter() - start, 3),
                    **meta,
                }
            )
            df, before = out, after
        codec = "uncompressed" if out_args.compression == "none" else out_args.compression
        if out_args.partition_by:
            final = df.repartition(*out_args.partition_by).sortWithinPartitions(ROW_KEY).drop(ROW_KEY)
            write_parquet_folder(final, output, out_args.partition_by, codec)
            files = len(list(output.rglob("*.parquet")))
        else:
            write_parquet_file(df.orderBy(ROW_KEY).drop(ROW_KEY), output, codec)
            files = 1
        return _summarise(records, rows_in, before, "spark", output, out_args, files)
    finally:
        for frame in cached:
            try:
                frame.unpersist()
            except Exception:
                break  # the cluster went away: the error that got us here says so


def run_steps_asset(
    input: Path,
    steps: Sequence[Mapping[str, Any]],
    output: Path,
    *,
    engine: str = "duckdb",
    spark: SparkSettings | Any = None,
    partition_by: Sequence[str] = (),
) -> dict[str, Any]:
    """Apply ``steps`` in order to the Parquet at ``input`` and write ``output`` atomically.

    ``input`` is a Parquet file or a hive-partitioned folder. The output is one Parquet file,
    or, with an ``output: {partition_by}`` step, a folder of ``col=value/`` Parquet files.
    Both engines give the same rows (row order: input order). Returns plain metadata: rows in
    and out, one record per step (rows in/out, seconds, step details), ``scan`` counts per kind,
    ``duplicates`` (clusters, removed rows), the partitioning and the number of files.
    ``partition_by`` (the asset's own key) applies when no `output` step sets it. ``spark`` is
    a SparkSession (from the ``spark`` resource) or :class:`SparkSettings`.
    """
    parsed = _parse(steps)
    out_args = _output_args(parsed, partition_by)
    if engine == "spark":
        return _run_spark(Path(input), parsed, Path(output), out_args, spark)
    if engine != "duckdb":
        raise DatacodyError(Diagnostic(RUNTIME, f"unknown engine `{engine}`", None, "use duckdb or spark"))
    return _run_arrow(Path(input), parsed, Path(output), out_args)
