"""JOINs without ON/USING: refused before sqlglot's exponential backtracking, legit shapes pass."""

from __future__ import annotations

import time

import pytest
from sqlglot import exp

from datacody_dagster.compiler.sql import SqlProblem, parse_select
from datacody_dagster.compiler.sql_safety import parse_predicate
from datacody_dagster.compiler.sql_shape import MAX_OPEN_JOINS, MAX_SUBSCRIPTS, MAX_TREE_DEPTH

ACCEPTED = {
    "open_joins_at_limit": "select 1 from a" + " join b" * MAX_OPEN_JOINS,
    "conditions": "select 1 from a" + " join b on a.x = b.x" * 40,
    "using": "select 1 from a" + " left join b using (x)" * 40,
    "cross": "select 1 from a" + " cross join b" * 40,
    "natural_asof_positional": "select 1 from a" + " natural left join b asof join c positional join d" * 14,
    "unnest": "select 1 from a" + " join unnest([1]) u" * 30,
    "nested_join_form": "select 1 from a" + " join b" * 20 + " on true" * 20,
    "one_open_join_per_union_branch": " union all ".join(["select 1 from a join b"] * 40),
    "one_per_subquery": "select 1 from " + ", ".join(["(select 1 from a join b join c) q"] * 20),
    "subscripts_at_limit": "select [1]" + "[1]" * (MAX_SUBSCRIPTS - 1) + " as v",
    "many_short_subscript_chains": "select " + ", ".join(["x[1][2][3]"] * 100),
    "casts_below_depth_limit": "select 1" + "::int" * (MAX_TREE_DEPTH - 10) + " as v",
    "long_chains_of_one_operator": "select " + " + ".join(["1"] * 3000) + " and " + " or ".join(["a"] * 3000),
    "long_union": " union all ".join(["select 1 as v"] * 400),
}


@pytest.mark.parametrize("sql", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_legit_join_shapes_parse(sql: str) -> None:
    started = time.monotonic()
    assert isinstance(parse_select(sql), exp.Query)
    assert time.monotonic() - started < 2


def test_open_join_chain_is_located_and_fast() -> None:
    sql = "select 1\nfrom a\n" + "join b\n" * 40
    started = time.monotonic()
    problem = parse_select(sql)
    assert time.monotonic() - started < 1  # unguarded: 2^40 steps
    assert isinstance(problem, SqlProblem)
    assert "40 JOINs without ON or USING" in problem.message
    assert (problem.line, problem.col) == (3 + MAX_OPEN_JOINS, 1)  # the first JOIN over the limit


def test_open_join_chain_in_a_subquery_and_a_predicate() -> None:
    inner = "select 1 from a" + " join b" * 40
    assert isinstance(parse_select(f"select * from ({inner}) q join c on true"), SqlProblem)
    started = time.monotonic()
    assert isinstance(parse_predicate(f"x in ({inner})"), SqlProblem)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "sql",
    [
        "select [1]" + "[1]" * MAX_SUBSCRIPTS + " as v",
        "select 1" + "::int" * (MAX_TREE_DEPTH + 1) + " as v",
        "select " + " + 1 - ".join(["1"] * MAX_TREE_DEPTH) + " as v",
    ],
    ids=["subscripts", "casts", "mixed_operators"],
)
def test_shapes_sqlglot_cannot_afford_are_refused(sql: str) -> None:
    started = time.monotonic()
    assert isinstance(parse_select(sql), SqlProblem)
    assert isinstance(parse_predicate(sql.removeprefix("select ").removesuffix(" as v")), SqlProblem)
    assert time.monotonic() - started < 2
