"""The cheaper uniqueness and regex strategies give exactly the verdicts of the plain queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacody_dagster.checks import evaluate_checks, keys, rows
from tests.checks.helpers import checks, scan_target, target, write_parquet

# 400 rows: s unique text, t text with one key three times, id unique integer, n with two nulls,
# code a 10-value text column (dictionary-encoded) with 3 bad values.
DATA = """
select 'k' || i as s, case when i in (5, 6) then 'k4' else 'k' || i end as t, i as id,
       case when i in (10, 11) then null else i end as n, i % 7 as g,
       case when i % 50 = 0 then 'bad' else 'AB-' || lpad((i % 10)::varchar, 3, '0') end as code
from range(400) t(i)
"""
ENTRIES = [
    {"unique": "s"},
    {"unique": "t"},
    {"unique": "id"},
    {"unique": "n"},
    {"unique": ["g", "id"]},
    {"unique": ["g", "n"]},
    {"unique": ["g", "t"]},
    {"regex": {"column": "code", "pattern": "[A-Z]{2}-[0-9]{3}"}},
]
# unique n ignores its two nulls; the composite (g, n) groups them: rows 10 and 11 differ in g,
# so it passes; (g, t): rows 4, 5, 6 share t, and 5 % 7 != 4 % 7 != 6 % 7, so it passes too.
EXPECTED = {
    "unique_s": (True, 0),
    "unique_t": (False, 3),
    "unique_id": (True, 0),
    "unique_n": (True, 0),
    "unique_g__id": (True, 0),
    "unique_g__n": (True, 0),
    "unique_g__t": (True, 0),
    "regex_code": (False, 8),
}


@pytest.fixture(autouse=True)
def per_value_on_small_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "PER_VALUE_MIN_ROWS", dict.fromkeys(rows.PER_VALUE_MIN_ROWS, 0))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parquet(tmp_path_factory.mktemp("strategies") / "d.parquet", DATA, 64)


def verdicts(path: Path, make=target) -> dict[str, tuple[bool, int]]:  # type: ignore[no-untyped-def]
    outs = evaluate_checks(make(path), checks("t", *ENTRIES))
    assert [o.error for o in outs if o.error] == []
    return {o.check.name: (o.passed, o.failing_rows) for o in outs}


def methods(path: Path) -> dict[str, str]:
    return {o.check.name: o.metadata["method"] for o in evaluate_checks(target(path), checks("t", *ENTRIES))}


def test_strategies_and_verdicts(data: Path) -> None:
    assert verdicts(data) == EXPECTED
    assert verdicts(data, scan_target) == EXPECTED
    m = methods(data)
    assert m["unique_id"] == "bitmap"
    assert m["unique_s"] == "hash_sort"
    assert m["unique_t"] == "hash_sort+exact_group"
    assert m["unique_g__id"] == "implied_by_unique(id)"
    assert m["regex_code"] == "per_distinct_value"


def test_per_value_threshold_keeps_small_tables_in_the_shared_pass(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "PER_VALUE_MIN_ROWS", {"regex": 10_000})
    assert verdicts(data) == EXPECTED
    assert methods(data)["regex_code"] == "aggregate_scan"


def test_per_value_counts_match_the_row_pass_on_every_kind(tmp_path: Path) -> None:
    """accepted_values, range and regex on dictionary columns of several types, nulls included."""
    p = write_parquet(
        tmp_path / "v.parquet",
        "select case when i % 9 = 0 then null else ['a', 'b', 'zz'][1 + i % 3] end as s,"
        " (i % 12)::integer as k, date '2024-01-01' + (i % 5)::integer as d from range(300) t(i)",
        64,
    )
    entries = [
        {"accepted_values": {"column": "s", "values": ["a", "b"]}},
        {"regex": {"column": "s", "pattern": "[a-z]"}},
        {"range": {"column": "k", "min": 1, "max": 10}},
        {"accepted_values": {"column": "k", "values": [0, 1, 2, 3]}},
        {"accepted_values": {"column": "d", "values": ["2024-01-01", "2024-01-02"]}},
    ]
    per_value = evaluate_checks(target(p), checks("t", *entries))
    scanned = evaluate_checks(scan_target(p), checks("t", *entries))
    assert {o.metadata["method"] for o in per_value} == {"per_distinct_value"}
    got = [(o.passed, o.failing_rows, o.error) for o in per_value]
    assert got == [(o.passed, o.failing_rows, o.error) for o in scanned]
    assert [n for _, n, _ in got] == [100, 100, 50, 200, 180]


def test_hash_collisions_fall_back_to_exact_grouping(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-bit hash makes nearly every key collide: the verdicts must not change."""
    real = keys.hash_sql
    monkeypatch.setattr(keys, "hash_sql", lambda cols: f"({real(cols)} % 4)")
    assert verdicts(data) == EXPECTED
    m = methods(data)
    assert m["unique_s"] == "hash_sort+exact_group"  # collisions seen, exactly confirmed unique
    assert m["unique_g__n"] == "hash_sort+exact_group"


def test_sql_hash_grouping_when_hashes_do_not_fit_in_memory(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "HASH_SORT_MAX_BYTES", 0)
    assert verdicts(data) == EXPECTED
    assert methods(data)["unique_s"] == "hash_group"
    real = keys.hash_sql
    monkeypatch.setattr(keys, "hash_sql", lambda cols: f"({real(cols)} % 4)")
    assert verdicts(data) == EXPECTED


def test_composite_key_is_not_implied_by_a_unique_column_with_two_nulls(tmp_path: Path) -> None:
    """Single-column uniqueness ignores nulls, composite keys do not: (null, 1) twice is a duplicate."""
    p = write_parquet(
        tmp_path / "n.parquet",
        "select case when i < 2 then null else i end as k, 1 as g from range(50) t(i)",
    )
    outs = evaluate_checks(target(p), checks("t", {"unique": "k"}, {"unique": ["k", "g"]}))
    assert [(o.passed, o.failing_rows) for o in outs] == [(True, 0), (False, 2)]
    assert outs[0].metadata["method"] == "bitmap"
    assert not outs[1].metadata["method"].startswith("implied")


def test_broken_unique_check_does_not_hide_the_others(data: Path) -> None:
    outs = evaluate_checks(target(data), checks("t", {"unique": "nope"}, {"unique": "s"}, {"unique": "t"}))
    assert outs[0].error and not outs[0].passed
    assert [(o.passed, o.failing_rows, o.error) for o in outs[1:]] == [(True, 0, None), (False, 3, None)]


def test_batched_cache_lookup_keeps_each_checks_own_object(data: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from datacody_dagster.checks import ResultCache

    first = checks("t", {"unique": "s"}, {"unique": "t"})
    twin = replace(first[0], description="same definition, another object")
    planned = [*first, twin]
    cache = ResultCache(tmp_path / "c.sqlite")
    fresh = evaluate_checks(target(data), planned, cache=cache)
    again = evaluate_checks(target(data), planned, cache=cache)
    cache.close()
    assert [o.reused for o in fresh] == [False] * 3 and [o.reused for o in again] == [True] * 3
    assert [o.check for o in again] == planned and again[2].check.description.startswith("same")
    assert [(o.passed, o.failing_rows) for o in again] == [(o.passed, o.failing_rows) for o in fresh]
