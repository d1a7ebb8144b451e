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
