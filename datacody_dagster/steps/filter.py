"""`filter: SQL_PREDICATE`: keep the rows where a DuckDB-dialect predicate is true."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import sqlglot

from datacody_dagster.spec.steps import FilterArgs
from datacody_dagster.steps.base import Metadata, StepKind, step_error


def spark_predicate(predicate: str) -> str:
    """The predicate translated from the DuckDB dialect to Spark SQL."""
    return sqlglot.parse_one(predicate, read="duckdb").sql(dialect="spark")


def run_arrow(table: pa.Table, args: FilterArgs) -> tuple[pa.Table, Metadata]:
    import duckdb

    from datacody_dagster.compiler.sql_safety import render_predicate
    from datacody_dagster.engines.sandbox import confined_connection

    # The predicate is spec text: it runs on a connection that may touch no file at all.
    con = confined_connection([])
    try:
        con.register("step_input", table)
        predicate = render_predicate(args.predicate)  # re-rendered by sqlglot, never pasted
        out = con.sql(f"select * from step_input where ({predicate})").to_arrow_table()
    except (duckdb.Error, ValueError) as exc:
        raise step_error(
            f"step `filter`: {str(exc).splitlines()[0]}", "check the predicate's column names"
        ) from None
    finally:
        con.close()
    return out, {}


def run_spark(df: Any, args: FilterArgs) -> tuple[Any, Metadata]:
    from pyspark.sql import functions as F

    return df.filter(F.expr(spark_predicate(args.predicate))), {}


STEP = StepKind(
    "filter", FilterArgs, run_arrow, run_spark, description="Keep rows where the predicate holds."
)
