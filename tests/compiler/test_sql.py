"""SQL helpers: output columns, dependencies, canonical form."""

from __future__ import annotations

import pytest

from datacody_dagster.compiler.sql import (
    SqlProblem,
    canonical_sql,
    output_columns,
    parse_select,
    referenced_tables,
)


def _q(sql: str):  # type: ignore[no-untyped-def]
    parsed = parse_select(sql)
    assert not isinstance(parsed, SqlProblem), parsed
    return parsed


@pytest.mark.parametrize(
    ("sql", "upstream", "expected"),
    [
        ("select a, count(*) as n from t group by a", {}, ["a", "n"]),
        ("select * from t", {"t": ["x", "y"]}, ["x", "y"]),
        ("select t.*, 1 as z from t", {"t": ["x"]}, ["x", "z"]),
        ("select * from t", {}, None),
        ("with c as (select * from t) select x as renamed from c", {}, ["renamed"]),
    ],
)
def test_output_columns(sql: str, upstream: dict[str, list[str]], expected: list[str] | None) -> None:
    assert output_columns(_q(sql), upstream) == expected


def test_references_skip_ctes_and_table_functions() -> None:
    q = _q(
        "with c as (select * from a) select * from c join b using (id)"
        " join read_parquet('x.parquet') p using (id)"
    )
    assert sorted(referenced_tables(q)) == ["a", "b"]


def test_canonical_sql_ignores_case_whitespace_and_comments() -> None:
    one = canonical_sql(_q("select a,b from t -- note"))
    two = canonical_sql(_q("SELECT a ,\n  b\nFROM t /* other */"))
    assert one == two
