"""Fixtures of the step tests: ONE SparkSession per test session, small planted corpora."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.steps.planted import dup_corpus, scan_corpus

SPARK_SETTINGS_CONF = {"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"}


@pytest.fixture(scope="session")
def spark_settings() -> Any:
    from datacody_dagster.config import SparkSettings

    return SparkSettings(master="local[1]", conf=SPARK_SETTINGS_CONF)


@pytest.fixture(scope="session")
def spark(spark_settings: Any) -> Iterator[Any]:
    from datacody_dagster.engines.spark import spark_session

    yield spark_session(spark_settings)


@pytest.fixture(scope="session")
def planted_dups():  # type: ignore[no-untyped-def]
    return dup_corpus()


@pytest.fixture(scope="session")
def planted_scan():  # type: ignore[no-untyped-def]
    return scan_corpus()


@pytest.fixture(scope="session")
def mixed_parquet(tmp_path_factory: pytest.TempPathFactory, planted_dups, planted_scan) -> Path:  # type: ignore[no-untyped-def]
    """One input holding both planted corpora (code-like rows with duplicates and findings)."""
    import pyarrow as pa

    dups = planted_dups.table
    scan = planted_scan.table
    n = dups.num_rows
    table = pa.table(
        {
            "doc_id": pa.array(list(range(n + scan.num_rows))),
            "content": pa.concat_arrays([dups["content"].combine_chunks(), scan["content"].combine_chunks()]),
            "part": pa.array(["a" if i % 3 else "b" for i in range(n + scan.num_rows)]),
        }
    )
    path = tmp_path_factory.mktemp("mixed") / "input.parquet"
    pq.write_table(table, path)
    return path
