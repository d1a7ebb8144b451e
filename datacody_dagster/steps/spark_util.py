"""Small helpers shared by the Spark runners of steps (imported only when Spark runs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa


def with_fields(df: Any, fields: Sequence[pa.Field], drop: Sequence[str] = ()) -> Any:
    """The Spark schema of ``df`` without ``drop`` and with ``fields`` appended (Arrow types)."""
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import StructField, StructType

    kept = [f for f in df.schema.fields if f.name not in drop]
    added = [StructField(f.name, from_arrow_type(f.type), nullable=True) for f in fields]
    return StructType(kept + added)


def map_batches(df: Any, fn: Callable[[pa.RecordBatch], pa.RecordBatch], schema: Any) -> Any:
    """Apply an Arrow batch kernel on the executors (``mapInArrow``)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield fn(batch)

    return df.mapInArrow(run, schema)


def table_kernel(fn: Callable[[pa.Table], pa.Table]) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """Adapt a table kernel to the one-batch-in, one-batch-out form ``mapInArrow`` expects."""

    def run(batch: pa.RecordBatch) -> pa.RecordBatch:
        out = fn(pa.Table.from_batches([batch]))
        return (
            out.combine_chunks().to_batches()[0]
            if out.num_rows
            else pa.RecordBatch.from_pylist([], out.schema)
        )

    return run
