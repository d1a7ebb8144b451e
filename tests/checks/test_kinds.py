"""Every check kind passes on clean data and fails on bad data, with exact counts and samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datacody_dagster.checks import evaluate_checks
from tests.checks.helpers import checks, scan_target, target, write_parquet

CLEAN = """
select i as id, 'c' || (i % 7) as cust, ['placed','shipped','done'][1 + i % 3] as status,
       ((i % 50) * 1.5)::double as amount, 'AB-' || lpad((i % 1000)::varchar, 3, '0') as code,
       date '2024-01-01' + (i % 30)::int as day, now()::timestamp as loaded_at, i % 3 as small
from range(1, 301) t(i)
"""
# 300 rows; then: id 7 repeated (2 extra rows), 3 null cust, 4 unknown status, 5 negative amounts,
# 6 bad codes, 2 rows with small > 2.
DIRTY = f"""
select * replace (
  case when id in (8, 9) then 7 else id end as id,
  case when id in (10, 11, 12) then null else cust end as cust,
  case when id in (20, 21, 22, 23) then 'lost' else status end as status,
  case when id between 30 and 34 then -1.0 else amount end as amount,
  case when id between 40 and 45 then 'bad' else code end as code,
  case when id in (50, 51) then 9 else small end as small)
from ({CLEAN})
"""

ENTRIES = [
    {"unique": "id"},
    {"not_null": ["cust"]},
    {"accepted_values": {"column": "status", "values": ["placed", "shipped", "done"]}},
    {"range": {"column": "amount", "min": 0}},
    {"regex": {"column": "code", "pattern": "[A-Z]{2}-[0-9]{3}"}},
    {"expression": "small <= 2"},
    {"row_count": {"min": 10, "max": 1000}},
    {"freshness": {"column": "loaded_at", "max_age": "1d"}},
    {"schema": {"id": "integer", "cust": "varchar", "amount": "double"}},
    {"sql": "select * from t where amount < 0"},
    {"unique": ["cust", "id"]},
]
EXPECTED_FAILING = {
    "unique_id": 3,
    "not_null_cust": 3,
    "accepted_values_status": 4,
    "range_amount": 5,
    "regex_code": 6,
    "expression": 2,
    "sql": 5,
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("kinds")
    return write_parquet(d / "clean.parquet", CLEAN, 64), write_parquet(d / "dirty.parquet", DIRTY, 64)


@pytest.mark.parametrize("make", [target, scan_target], ids=["footer", "scan"])
def test_all_pass_on_clean_data(files: tuple[Path, Path], make) -> None:
    outs = evaluate_checks(make(files[0]), checks("t", *ENTRIES))
    assert [(o.check.name, o.passed, o.error) for o in outs if not o.passed] == []
    assert all(o.total_rows in (300, 3) for o in outs)


@pytest.mark.parametrize("make", [target, scan_target], ids=["footer", "scan"])
def test_failures_have_exact_counts_and_samples(files: tuple[Path, Path], make) -> None:
    outs = {o.check.name: o for o in evaluate_checks(make(files[1]), checks("t", *ENTRIES))}
    failed = {n: o.failing_rows for n, o in outs.items() if not o.passed}
    assert failed == EXPECTED_FAILING
    assert outs["unique_id"].metadata["duplicate_keys"] == 1
    assert outs["unique_id"].sample == [{"id": 7, "n": 3}]
    assert {r["cust"] for r in outs["not_null_cust"].sample} == {None}
    assert len(outs["not_null_cust"].sample) == 3
    assert {r["status"] for r in outs["accepted_values_status"].sample} == {"lost"}
    assert len(outs["regex_code"].sample) == 5  # capped at five
    assert all(r["amount"] == -1.0 for r in outs["range_amount"].sample)
    json.dumps([o.sample for o in outs.values()])  # JSON-safe (dates, timestamps)
    assert outs["accepted_values_status"].failing_fraction == pytest.approx(4 / 300)
    assert "where" in outs["range_amount"].query
    assert outs["unique_cust__id"].passed  # composite key is unique even where id repeats


def test_failing_queries_return_the_failing_rows(files: tuple[Path, Path]) -> None:
    import duckdb

    outs = evaluate_checks(target(files[1]), checks("t", *ENTRIES))
    con = duckdb.connect()
    for o in outs:
        if o.check.kind in {"not_null", "accepted_values", "range", "regex", "expression"}:
            assert len(con.execute(o.query).fetchall()) == o.failing_rows, o.check.name


def test_footer_settles_without_scanning(files: tuple[Path, Path]) -> None:
    outs = {o.check.name: o for o in evaluate_checks(target(files[0]), checks("t", *ENTRIES))}
    assert outs["not_null_cust"].metadata["method"] == "parquet_footer"
    assert outs["row_count"].metadata["method"] == "parquet_footer"
    assert outs["freshness_loaded_at"].metadata["method"] == "parquet_footer"
    # amount is a double: NaN is not in Parquet min/max, so floats are always scanned
    assert outs["range_amount"].metadata["method"] == "aggregate_scan"
    assert outs["unique_id"].metadata["method"] == "bitmap"


def test_integer_range_from_footer_matches_scan(tmp_path: Path) -> None:
    p = write_parquet(
        tmp_path / "r.parquet",
        "select i, case when i = 777 then -5 else i end as j from range(2000) t(i)",
        500,
    )
    cs = checks("t", {"range": {"column": "i", "min": 0, "max": 1999}}, {"range": {"column": "j", "min": 0}})
    fast = evaluate_checks(target(p), cs)
    slow = evaluate_checks(scan_target(p), cs)
    assert (
        [(o.passed, o.failing_rows) for o in fast]
        == [(o.passed, o.failing_rows) for o in slow]
        == [(True, 0), (False, 1)]
    )
    assert fast[0].metadata["method"] == "parquet_footer"


def test_nan_is_out_of_range_like_a_scan(tmp_path: Path) -> None:
    p = write_parquet(
        tmp_path / "n.parquet",
        "select case when i = 3 then 'nan'::double else i::double end as x from range(10) t(i)",
    )
    out = evaluate_checks(target(p), checks("t", {"range": {"column": "x", "min": 0, "max": 100}}))[0]
    assert not out.passed and out.failing_rows == 1


def test_stale_and_schema_mismatch(tmp_path: Path) -> None:
    p = write_parquet(tmp_path / "s.parquet", "select date '2020-01-01' as d, 1 as n")
    outs = evaluate_checks(
        target(p),
        checks(
            "t",
            {"freshness": {"column": "d", "max_age": "2d"}},
            {"schema": {"d": "date", "n": "varchar", "x": "integer"}},
        ),
    )
    assert not outs[0].passed and outs[0].metadata["age_hours"] > 48
    assert not outs[1].passed and outs[1].failing_rows == 2
    assert {m["column"] for m in outs[1].metadata["mismatches"]} == {"n", "x"}


def test_relationships(tmp_path: Path) -> None:
    parent = write_parquet(tmp_path / "p.parquet", "select i as k from range(10) t(i)")
    child = write_parquet(
        tmp_path / "c.parquet", "select i % 12 as fk, i from range(100) t(i) union all select null, -1"
    )
    cs = checks("c", {"relationships": {"column": "fk", "to": "p", "field": "k"}})
    out = evaluate_checks(target(child, "c", resolve=lambda name: f"read_parquet('{parent}')"), cs)[0]
    # fk in {10, 11}: rows i = 10, 11, 22, 23, ..., 94, 95 -> 16 rows, 2 missing keys; null is not judged
    assert (out.passed, out.failing_rows, out.metadata["missing_keys"]) == (False, 16, 2)
    assert {r["fk"] for r in out.sample} <= {10, 11}


def test_bad_expression_is_an_error_and_others_still_run(files: tuple[Path, Path]) -> None:
    outs = evaluate_checks(
        target(files[1]),
        checks(
            "t",
            {"expression": "no_such_column > 0"},
            {"not_null": ["cust"]},
            {"regex": {"column": "code", "pattern": "[A-Z]{2}-[0-9]{3}"}},
        ),
    )
    assert outs[0].error and not outs[0].passed
    assert outs[1].failing_rows == 3 and outs[2].failing_rows == 6 and outs[2].error is None


def test_missing_data_gives_error_outcomes(tmp_path: Path) -> None:
    outs = evaluate_checks(target(tmp_path / "nope.parquet"), checks("t", {"not_null": ["a"]}))
    assert not outs[0].passed and "cannot read" in (outs[0].error or "")


def test_training_kinds_are_dispatched(files: tuple[Path, Path]) -> None:
    out = evaluate_checks(target(files[0]), checks("t", {"pii": {"columns": ["cust"]}}))[0]
    try:
        import datacody_dagster.checks.training  # noqa: F401
    except ImportError:
        assert out.error == "not available" and not out.passed
    else:
        assert out.check.kind == "pii" and out.error != "not available"


def test_unique_on_strings_and_sparse_integers(tmp_path: Path) -> None:
    p = write_parquet(
        tmp_path / "u.parquet",
        "select 'k' || i as s, i * 1000000000 as big from range(100) t(i) union all select 'k5', 5000000000",
    )
    outs = evaluate_checks(target(p), checks("t", {"unique": "s"}, {"unique": "big"}))
    assert [(o.passed, o.failing_rows) for o in outs] == [(False, 2), (False, 2)]
    assert outs[1].metadata["method"].startswith("hash_")  # too sparse for a bitmap
