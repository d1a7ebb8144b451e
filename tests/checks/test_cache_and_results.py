"""Result cache reuse, and the Dagster objects built from outcomes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from datacody_dagster.checks import ResultCache, evaluate_checks
from datacody_dagster.checks.dagster_results import to_asset_check_result
from datacody_dagster.emit.dagster import check_spec_for
from tests.checks.helpers import checks, target, write_parquet

CS = [
    {"not_null": ["a"]},
    {"unique": "a"},
    {"range": {"column": "b", "min": 0}},
    {"freshness": {"column": "ts", "max_age": "1d"}},
]


def _data(path: Path, bad: bool = False) -> Path:
    extra = " union all select 1, -1.0, now()::timestamp" if bad else ""
    return write_parquet(
        path, f"select i as a, i::double as b, now()::timestamp as ts from range(1, 100) t(i){extra}"
    )


def test_unchanged_data_is_not_rechecked(tmp_path: Path) -> None:
    p = _data(tmp_path / "d.parquet", bad=True)
    cache = ResultCache(tmp_path / "cache.sqlite")
    cs = checks("t", *CS)
    first = evaluate_checks(target(p), cs, cache=cache)
    again = evaluate_checks(target(p), cs, cache=cache)
    assert [o.reused for o in first] == [False] * 4
    assert [o.reused for o in again] == [True, True, True, False]  # freshness depends on the clock
    for a, b in zip(first, again, strict=True):
        assert (a.passed, a.failing_rows, a.sample, a.query) == (b.passed, b.failing_rows, b.sample, b.query)


def test_changed_data_or_check_is_rechecked(tmp_path: Path) -> None:
    p = _data(tmp_path / "d.parquet")
    cache = ResultCache(tmp_path / "cache.sqlite")
    evaluate_checks(target(p), checks("t", *CS), cache=cache)
    changed_check = evaluate_checks(target(p), checks("t", {"range": {"column": "b", "min": 5}}), cache=cache)
    assert not changed_check[0].reused and not changed_check[0].passed
    _data(p, bad=True)
    os.utime(p, ns=(1, 1))  # a new file, whatever its mtime
    again = evaluate_checks(target(p), checks("t", *CS), cache=cache)
    assert not again[1].reused and not again[1].passed


def test_explicit_data_version_keys_the_cache(tmp_path: Path) -> None:
    p = _data(tmp_path / "d.parquet")
    cache = ResultCache(tmp_path / "cache.sqlite")
    evaluate_checks(target(p, data_version="v1"), checks("t", *CS[:1]), cache=cache)
    assert evaluate_checks(target(p, data_version="v1"), checks("t", *CS[:1]), cache=cache)[0].reused
    assert not evaluate_checks(target(p, data_version="v2"), checks("t", *CS[:1]), cache=cache)[0].reused


def test_asset_check_result_and_spec(tmp_path: Path) -> None:
    p = _data(tmp_path / "d.parquet", bad=True)
    cs = checks(
        "orders",
        {"unique": "a"},
        {"range": {"column": "b", "min": 0}, "severity": "warn"},
        {"relationships": {"column": "a", "to": "customers", "field": "id"}},
    )
    outs = evaluate_checks(target(p, "orders"), cs[:2])
    res = to_asset_check_result(outs[0])
    assert isinstance(res, dg.AssetCheckResult)
    assert not res.passed and res.severity == dg.AssetCheckSeverity.ERROR
    assert res.asset_key == dg.AssetKey(["orders"]) and res.check_name == "unique_a"
    assert res.metadata["failing_rows"].value == 2
    assert res.metadata["failing_fraction"].value == round(2 / 100, 6)
    assert res.metadata["reused"].value is False
    assert "select" in res.metadata["query"].value.lower()
    assert res.metadata["sample"].value == [{"a": 1, "n": 2}]
    assert "| a | n |" in res.metadata["sample_table"].value
    warn = to_asset_check_result(outs[1])
    assert warn.severity == dg.AssetCheckSeverity.WARN and not warn.passed
    json.dumps({k: str(v) for k, v in warn.metadata.items()})
    spec = check_spec_for(cs[0])
    assert spec.blocking and spec.description and "unique" in spec.description
    assert not check_spec_for(cs[1]).blocking
    rel = check_spec_for(cs[2])
    assert dg.AssetKey(["customers"]) in {d.asset_key for d in rel.additional_deps}
