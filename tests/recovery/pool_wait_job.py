"""A one-step job on the DuckDB writer pool, run by the code location's executor (reconstructable)."""

from __future__ import annotations

import dagster as dg

from datacody_dagster.emit.dagster import DUCKDB_POOL
from datacody_dagster.runtime.run_worker import datacody_multiprocess_executor


@dg.op(pool=DUCKDB_POOL)
def writes() -> int:
    return 1


@dg.job(executor_def=datacody_multiprocess_executor.configured({"max_concurrent": 1}))
def pool_job() -> None:
    writes()


@dg.op(config_schema={"marker": str, "seconds": float})
def slow(context) -> int:  # type: ignore[no-untyped-def]  # dagster rejects a string annotation
    """Runs beside the pool step; writes its marker only if it is left to finish."""
    import time
    from pathlib import Path

    time.sleep(context.op_config["seconds"])
    Path(context.op_config["marker"]).write_text("finished", encoding="utf-8")
    return 1


@dg.job(executor_def=datacody_multiprocess_executor.configured({"max_concurrent": 2}))
def pool_and_slow_job() -> None:
    writes()
    slow()
