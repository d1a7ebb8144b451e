"""Uniqueness by sorted key hashes, read straight from Arrow buffers (checks/keys.py)."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pyarrow as pa

from datacody_dagster.checks.keys import _all_distinct, _integer_values


def test_duplicates_across_chunks_slices_and_nulls() -> None:
    con = duckdb.connect()
    table = con.sql(
        "select hash(i) as h, hash(i % 400000) as dup, case when i % 3 = 0 then null else hash(i) end as n "
        "from range(500000) t(i)"
    ).to_arrow_table()
    assert table.column("h").num_chunks > 1  # the duplicate of `dup` sits in another chunk
    assert _all_distinct(table.column("h"))
    assert not _all_distinct(table.column("dup"))
    assert _all_distinct(table.column("n"))  # nulls are left out
    sliced = table.column("h").combine_chunks().slice(7, 1000)
    assert list(_integer_values(sliced)) == sliced.to_pylist()
    small = pa.chunked_array([pa.array([1, 2, 2], pa.int32())])  # a type without the fast path
    assert not _all_distinct(small)


def test_a_unique_check_does_not_import_pandas() -> None:
    script = """
import sys, duckdb
from datacody_dagster.checks.keys import _all_distinct
con = duckdb.connect()
hashes = con.sql("select hash(i) from range(300000) t(i)").to_arrow_table().column(0)
assert _all_distinct(hashes)
assert "pandas" not in sys.modules, "pandas imported"
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
