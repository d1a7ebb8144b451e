"""Reading step inputs on Spark with the same row key as the DuckDB engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from datacody_dagster.engines.spark import read_parquet
from datacody_dagster.steps.base import ROW_KEY, ROW_KEY_FILE_SHIFT
from datacody_dagster.steps.io import input_files


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    return str(Path(unquote(parsed.path if parsed.scheme else uri)).resolve())


def read_input(spark: Any, path: Path) -> Any:
    """The input DataFrame with the hidden row-key column appended."""
    from pyspark.sql import functions as F

    ranks = {str(f): i for i, f in enumerate(input_files(path))}
    df = read_parquet(spark, Path(path).resolve())
    columns = df.columns
    tagged = df.select(
        "*", F.col("_metadata.file_path").alias("_dc_file"), F.col("_metadata.row_index").alias("_dc_index")
    )
    uris = [r[0] for r in tagged.select("_dc_file").distinct().collect()]
    mapping = spark.createDataFrame(
        [(u, ranks[_local_path(u)]) for u in uris], "_dc_file string, _dc_rank long"
    )
    keyed = tagged.join(F.broadcast(mapping), "_dc_file")
    key = F.col("_dc_rank") * F.lit(1 << ROW_KEY_FILE_SHIFT) + F.col("_dc_index")
    return keyed.select(*[F.col(c) for c in columns], key.cast("long").alias(ROW_KEY))
