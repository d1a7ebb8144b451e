"""Failing-row predicates built once (sqlglot) and rendered for DuckDB: quoting and literals."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from datacody_dagster.checks.predicates import failing_predicate_sql
from datacody_dagster.compiler.checks import PlannedCheck

ROWS = '''select * from (values
  (1, 'it''s', 'AB-123', -1.0),
  (2, 'plain', 'AB-1234', 5.0),
  (null, null, null, null),
  (4, 'plain', 'ab-123', 11.0)
) as v("odd ""id""", "my col", sku, amount)'''


def _check(kind: str, **args: Any) -> PlannedCheck:
    return PlannedCheck("t", "c", kind, args, "error", "c")


@pytest.mark.parametrize(
    ("check", "failing"),
    [
        (_check("not_null", column='odd "id"', columns=['odd "id"']), 1),
        (_check("accepted_values", column="my col", values=["it's"]), 2),
        (_check("accepted_values", column='odd "id"', values=[1, 2]), 1),
        (_check("accepted_values", column="my col", values=[]), 0),
        (_check("range", column="amount", min=0, max=10), 2),
        (_check("range", column="amount"), 0),
        (_check("regex", column="sku", pattern=r"[A-Z]{2}-\d{3}"), 2),
        (_check("expression", expression="amount >= 0 or \"my col\" = 'it''s'"), 0),
        (_check("expression", expression="amount::int < 10"), 1),
    ],
)
def test_duckdb_predicate_counts_failing_rows(check: PlannedCheck, failing: int) -> None:
    sql = f"select count(*) filter (where {failing_predicate_sql(check, 'duckdb')}) from ({ROWS})"
    assert duckdb.sql(sql).fetchall() == [(failing,)]


def test_regex_full_match_is_the_one_dialect_override() -> None:
    check = _check("regex", column="sku", pattern=r"\d")
    assert "REGEXP_FULL_MATCH" in failing_predicate_sql(check, "duckdb")
    spark = failing_predicate_sql(check, "spark")
    assert "RLIKE '(?d)\\\\A(?:\\\\d)\\\\z'" in spark
