"""Drift and row-count anomaly against history kept in a real Dagster instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from datacody_dagster.checks import DagsterCheckHistory, evaluate_checks, profile_for_metadata
from datacody_dagster.checks.history import file_md5
from datacody_dagster.checks.profile import PROFILE_KEY
from tests.checks.helpers import checks, target, write_parquet

CS = [
    {"drift": {"column": "amount", "threshold": 0.2}},
    {"drift": {"column": "segment", "threshold": 0.1}},
    {"row_count_anomaly": {"threshold": 3.5, "window": 10}},
]


def _write(path: Path, rows: int, shift: float = 0.0, seg_b: float = 0.3, seed: int = 0) -> Path:
    return write_parquet(
        path,
        f"select (hash(i + {seed}) % 1000)::double / 10 + {shift} as amount,"
        f" case when (hash(i * 7 + {seed}) % 1000) < {int(seg_b * 1000)} then 'b' else 'a' end as segment"
        f" from range({rows}) t(i)",
    )


def _materialize(instance: dg.DagsterInstance, path: Path) -> tuple[str, dict]:
    version = file_md5(path)
    profile = profile_for_metadata(target(path, "orders", data_version=version))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "orders",
            metadata={"dagster/row_count": profile["rows"], PROFILE_KEY: dg.MetadataValue.json(profile)},
            tags={"dagster/data_version": version},
        )
    )
    return version, profile


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _check(path: Path, version: str, instance: dg.DagsterInstance):
    return evaluate_checks(
        target(path, "orders", data_version=version),
        checks("orders", *CS),
        history=DagsterCheckHistory(instance),
    )


def test_quiet_on_unchanged_and_similar_data(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    for i in range(5):
        _materialize(instance, _write(tmp_path / f"v{i}.parquet", 2000 + 10 * i, seed=i))
    p = _write(tmp_path / "now.parquet", 2030, seed=99)
    outs = _check(p, file_md5(p), instance)
    assert [o.passed for o in outs] == [True, True, True], [o.metadata for o in outs]
    assert outs[0].metadata["method"] == "psi" and outs[0].metadata["baseline"]["rows"] == 2040
    assert outs[1].metadata["method"] == "category_shares"
    assert outs[2].metadata["baseline_counts"][:2] == [2040.0, 2030.0]
    # the same data re-materialized: its own record is not its baseline, and nothing fires
    version, _ = _materialize(instance, p)
    assert all(o.passed for o in _check(p, version, instance))


def test_fires_on_shift_and_row_count_drop(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    for i in range(5):
        _materialize(instance, _write(tmp_path / f"v{i}.parquet", 2000 + 10 * i, seed=i))
    shifted = _write(tmp_path / "shift.parquet", 2050, shift=40.0, seg_b=0.7, seed=7)
    outs = _check(shifted, file_md5(shifted), instance)
    assert [o.passed for o in outs] == [False, False, True]
    assert outs[0].metadata["score"] > 0.2 and "baseline_shares" in outs[0].metadata
    assert outs[1].metadata["score"] > 0.3
    dropped = _write(tmp_path / "drop.parquet", 600, seed=8)
    outs = _check(dropped, file_md5(dropped), instance)
    assert [o.passed for o in outs] == [True, True, False]
    assert outs[2].metadata["z_score"] > 3.5 and outs[2].metadata["baseline_median"] == 2020


def test_no_history_passes_with_a_note(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    p = _write(tmp_path / "a.parquet", 100)
    outs = _check(p, file_md5(p), instance)
    assert all(o.passed for o in outs)
    assert outs[0].metadata["baseline"] is None and "fewer than" in outs[2].metadata["note"]


def test_run_id_excludes_the_current_materialization(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    from datacody_dagster.checks.history import HistoryRecord, baseline_records

    class Fixed:
        def records(self, asset: str, limit: int) -> list[HistoryRecord]:
            return [HistoryRecord("run-2", 2.0, 10, "v2", None), HistoryRecord("run-1", 1.0, 10, "v1", None)]

    p = _write(tmp_path / "a.parquet", 10)
    got = baseline_records(Fixed(), target(p, "orders", run_id="run-2"), 5)
    assert [r.run_id for r in got] == ["run-1"]
