"""`output: {partition_by: [cols], compression: zstd}`: how the step pipeline is written.

The step changes no rows; the runner reads it to write a hive-partitioned folder of Parquet
files (``col=value/``) instead of one file. It must be the last step.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from datacody_dagster.spec.steps import OutputArgs
from datacody_dagster.steps.base import Metadata, StepKind, require_columns


def run_arrow(table: pa.Table, args: OutputArgs) -> tuple[pa.Table, Metadata]:
    require_columns(args.partition_by, table.column_names, "output")
    return table, {}


def run_spark(df: Any, args: OutputArgs) -> tuple[Any, Metadata]:
    require_columns(args.partition_by, df.columns, "output")
    return df, {}


STEP = StepKind(
    "output",
    OutputArgs,
    run_arrow,
    run_spark,
    description="Write a partitioned Parquet dataset (must be the last step).",
)
