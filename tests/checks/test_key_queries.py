"""The key queries of `unique` and `relationships`: one sqlglot builder, rendered per dialect.

Run on a real DuckDB with column names that need quoting; the Spark side of the same queries is
exercised against DuckDB's verdicts in tests/steps/test_spark_checks.py.
"""

from __future__ import annotations

import duckdb
import pytest
import sqlglot

from datacody_dagster.checks.key_queries import (
    duplicate_keys_query,
    orphan_counts_query,
    orphan_rows_query,
)
from datacody_dagster.compiler.checks import PlannedCheck

ODD = 'odd "id"'
TICK = "tick`col"


def _check(kind: str, **args: object) -> PlannedCheck:
    return PlannedCheck("child", kind, kind, args, "error", kind)


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f'create table child ("{ODD.replace(chr(34), chr(34) * 2)}" int, "{TICK}" int, v int)')
    # keys: 1 twice, 2 once, null twice (ignored by single-column unique); parent ids: 1, 3
    con.execute("insert into child values (1, 10, 0), (1, 10, 1), (2, 20, 2), (null, 5, 3), (null, 5, 4)")
    con.execute("create table parent (pid int)")
    con.execute("insert into parent values (1), (3)")
    return con


def test_single_column_unique_ignores_nulls(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(duplicate_keys_query(_check("unique", columns=[ODD]), "child", "duckdb")).fetchall()
    assert rows == [(1, 2)]


def test_composite_unique_groups_nulls(con: duckdb.DuckDBPyConnection) -> None:
    check = _check("unique", columns=[ODD, TICK])
    rows = sorted(con.execute(duplicate_keys_query(check, "child", "duckdb")).fetchall(), key=str)
    assert rows == sorted([(1, 10, 2), (None, 5, 2)], key=str)


def test_orphans_rows_and_counts_agree(con: duckdb.DuckDBPyConnection) -> None:
    check = _check("relationships", column=ODD, to="parent", field="pid")
    orphans = con.execute(orphan_rows_query(check, "child", "parent", "duckdb")).fetchall()
    assert [r[0] for r in orphans] == [2]  # nulls are not orphans
    counts = con.execute(orphan_counts_query(check, "child", "parent", "duckdb")).fetchall()
    assert counts == [(1, 1)]  # one missing key, one failing row


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_each_dialect_gets_valid_sql_from_the_same_tree(dialect: str) -> None:
    checks = [
        duplicate_keys_query(_check("unique", columns=[TICK]), "rel_a", dialect),
        orphan_rows_query(
            _check("relationships", column=TICK, to="p", field="pid"), "rel_a", "rel_b", dialect
        ),
        orphan_counts_query(
            _check("relationships", column=TICK, to="p", field="pid"), "rel_a", "rel_b", dialect
        ),
    ]
    quoted = "`tick``col`" if dialect == "spark" else '"tick`col"'
    for sql in checks:
        assert quoted in sql
        assert "__dc_" not in sql  # every placeholder replaced by its relation
        sqlglot.parse_one(sql, read=dialect)  # parses back in its own dialect
