"""Checks the SQL proves by construction need no scan, and the proofs are sound."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from datacody_dagster.checks import evaluate_checks
from datacody_dagster.compiler.proofs import sql_proofs
from datacody_dagster.compiler.sql import SqlProblem, parse_select
from tests.checks.helpers import checks, scan_target, target, write_parquet

SOURCE = (
    "select (i % 7) as carrier, (i % 5) as day, case when i % 3 = 0 then null else i end as tail,"
    " i as amount from range(1000) t(i)"
)
QUERIES = {
    "group_by_all": "select carrier, day, count(*) as n, sum(amount) as total from src group by all",
    "group_by_position": "select carrier, day, max(amount) as top from src group by 1, day",
    "distinct": "select distinct carrier, day from src",
    "not_null_filter": "select s.tail as tail_id, amount from src s where s.tail is not null and amount > 10",
}


def _proofs(sql: str):  # type: ignore[no-untyped-def]
    parsed = parse_select(sql)
    assert not isinstance(parsed, SqlProblem)
    return sql_proofs(parsed)


def test_proofs_of_query_shapes() -> None:
    assert _proofs(QUERIES["group_by_all"]).unique_keys == (("carrier", "day"),)
    assert set(_proofs(QUERIES["group_by_all"]).not_null) == {"n"}
    assert _proofs(QUERIES["group_by_position"]).unique_keys == (("carrier", "day"),)
    assert _proofs(QUERIES["distinct"]).unique_keys == (("carrier", "day"),)
    assert _proofs(QUERIES["not_null_filter"]).not_null == ("tail_id",)
    # nothing is claimed when a group key is not projected, for unions, or for stars
    assert _proofs("select carrier, sum(amount) as s from src group by carrier, day").unique_keys == ()
    assert _proofs("select carrier from src union select day from src").unique_keys == ()
    assert _proofs("select * from src group by all").unique_keys == ()
    assert _proofs("select tail from src where tail is not null or amount > 1").not_null == ()


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_proofs_hold_on_real_data_and_skip_the_scan(tmp_path: Path, name: str) -> None:
    """Whatever a proof claims, a full scan agrees: the proven checks pass on the real output."""
    src = write_parquet(tmp_path / "src.parquet", SOURCE)
    con = duckdb.connect()
    con.execute(f"create view src as select * from read_parquet('{src}')")
    out = tmp_path / f"{name}.parquet"
    con.execute(f"copy ({QUERIES[name]}) to '{out}' (format parquet)")
    proofs = _proofs(QUERIES[name])
    planned = checks(
        name,
        *[{"unique": list(key)} for key in proofs.unique_keys],
        *[{"not_null": [col]} for col in proofs.not_null],
    )
    assert planned
    proven = evaluate_checks(
        target(out, name, proven_unique_keys=proofs.unique_keys, proven_not_null=proofs.not_null), planned
    )
    scanned = evaluate_checks(scan_target(out, name), planned)
    assert all(o.passed for o in proven) and all(o.passed for o in scanned)
    assert {o.metadata.get("method") for o in proven} == {"proven_by_sql"}
    assert all(o.query == "" for o in proven)
    assert all(o.metadata.get("method") != "proven_by_sql" for o in scanned)


def test_unproven_checks_still_scan(tmp_path: Path) -> None:
    out = write_parquet(tmp_path / "t.parquet", "select i % 3 as k, i as v from range(10) t(i)")
    planned = checks("t", {"unique": "k"}, {"unique": ["k", "v"]})
    outcomes = evaluate_checks(target(out, proven_unique_keys=(("v",),)), planned)
    assert not outcomes[0].passed and outcomes[0].failing_rows > 0  # k is not proven unique
    assert outcomes[1].passed and outcomes[1].metadata["method"] == "proven_by_sql"  # superset of (v)


def test_example_marts_carry_proofs_from_the_plan() -> None:
    from datacody_dagster.compiler import compile_project
    from tests.conftest import REPO

    plan = compile_project(REPO).plan
    daily = plan.node("daily_delay_by_carrier")
    assert ("flight_date", "carrier", "airline_name") in daily.proven_unique_keys
    assert "flights" in daily.proven_not_null
