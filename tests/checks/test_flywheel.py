"""Issue 11: suggestions validated on all of history, calibrated bands, seasonality, feedback, severity.

History lives in a real Dagster instance (SQLite event log in a temp folder) where the test needs
what the runtime stores; the seasonality test needs batch dates, so its history is the
`CheckHistory` protocol over real Parquet profiles (the event log stamps events with "now").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from typer.testing import CliRunner

from datacody_dagster.checks import DagsterCheckHistory, evaluate_checks, profile_for_metadata
from datacody_dagster.checks.dagster_results import outcome_metadata
from datacody_dagster.checks.history import HistoryRecord, file_md5
from datacody_dagster.checks.profile import PROFILE_KEY
from datacody_dagster.checks.selection import select_nodes
from datacody_dagster.checks.suggest import suggest_checks
from datacody_dagster.cli.main import app
from datacody_dagster.compiler import compile_project
from tests.checks.helpers import checks, target, write_parquet
from tests.conftest import write_project

SPEC = "group: g\nsources:\n  trips:\n    path: data/raw/trips.parquet\n"


def _batch(path: Path, i: int, rows: int = 400, nulls_per_mille: int = 0, scale: float = 1.0) -> Path:
    """Trips: a key, a distance in miles (x scale), a carrier, a note that is sometimes null."""
    return write_parquet(
        path,
        f"select {i * 10_000} + r as trip_id,"
        f" round((100 + (hash(r, {i}) % 2400)) * {scale}, 1) as distance,"
        f" ['AA', 'UA', 'DL'][1 + (hash(r, {i}, 1) % 3)::int] as carrier,"
        f" case when hash(r, {i}, 2) % 1000 < {nulls_per_mille} then null else 'ok' end as note"
        f" from range({rows}) t(r)",
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """A persistent instance in the project (what `datacody` commands open)."""
    path = tmp_path / "p" / ".dagster_home"
    path.mkdir(parents=True)
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    with dg.DagsterInstance.from_config(str(path)) as inst:
        yield inst


def _materialize(instance: dg.DagsterInstance, asset: str, path: Path) -> dict[str, Any]:
    """What the runtime records: row count, data version and the profile."""
    version = file_md5(path)
    profile = profile_for_metadata(target(path, asset, data_version=version))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset,
            metadata={"dagster/row_count": profile["rows"], PROFILE_KEY: dg.MetadataValue.json(profile)},
            tags={"dagster/data_version": version},
        )
    )
    return profile


def _project_with_history(
    root: Path, instance: dg.DagsterInstance, batches: int, nulls: dict[int, int]
) -> Path:
    write_project(root, {"g.yaml": SPEC}, dvc=False)
    for i in range(batches):
        path = _batch(root / "data" / "raw" / "trips.parquet", i, nulls_per_mille=nulls.get(i, 0))
        _materialize(instance, "trips", path)
    return root


def _suggestions(root: Path, instance: dg.DagsterInstance) -> dict[str, Any]:
    project = compile_project(root)
    node = select_nodes(project, ["trips"])[0]
    report = suggest_checks(project, node, history=DagsterCheckHistory(instance), instance=instance)
    return {next(k for k in s.entry if k != "severity") + ":" + _col(s.entry): s for s in report.suggestions}


def _col(entry: dict[str, Any]) -> str:
    value = next(v for k, v in entry.items() if k != "severity")
    if isinstance(value, list):
        return value[0]
    if isinstance(value, dict):
        return str(value.get("column", ""))
    return str(value)


def test_rare_nulls_get_a_fraction_bound_not_not_null(tmp_path: Path, home: dg.DagsterInstance) -> None:
    # `note` is null in 3 of 12 past batches (up to 2% of a batch), never in the current one:
    # a one-batch profile would propose not_null; history proposes a fraction bound.
    root = _project_with_history(tmp_path / "p", home, 12, nulls={2: 20, 5: 5, 8: 12})
    got = _suggestions(root, home)
    assert "not_null:note" not in got
    bound = got["null_fraction:note"]
    assert 0.02 <= bound.entry["null_fraction"]["max"] <= 0.06
    assert bound.batches == 12 and "12 past batches" in bound.reason and "rarely null" in bound.reason
    assert "not_null:trip_id" in got  # a key (distinct in every batch) is never null
    # validated on history: every proposal passes on every past batch
    project = compile_project(root)
    node = select_nodes(project, ["trips"])[0]
    entries = [s.entry for s in got.values()]
    planned = checks("trips", *entries)
    for i in range(12):
        path = _batch(tmp_path / "past" / f"{i}.parquet", i, nulls_per_mille={2: 20, 5: 5, 8: 12}.get(i, 0))
        outs = evaluate_checks(target(path, "trips"), [c for c in planned if c.kind != "distribution"])
        assert all(o.passed for o in outs), [(o.check.name, o.metadata) for o in outs if not o.passed]
    assert node.name == "trips"


def test_suggestions_start_as_warn_and_earn_error(tmp_path: Path, home: dg.DagsterInstance) -> None:
    root = _project_with_history(tmp_path / "p", home, 3, nulls={})
    few = _suggestions(root, home)
    assert {s.entry["severity"] for s in few.values()} == {"warn"}
    assert "distribution:distance" not in few  # too short a history to learn a band
    for i in range(3, 12):
        _materialize(home, "trips", _batch(root / "data" / "raw" / "trips.parquet", i))
    many = _suggestions(root, home)
    assert many["range:distance"].entry["severity"] == "error"  # held on 12 batches
    assert many["distribution:distance"].entry["severity"] == "warn"  # calibrated: needs 30
    assert many["row_count_anomaly:"].entry["row_count_anomaly"]["max_false_alarm_rate"] < 0.01


def test_learned_range_and_distribution_catch_a_unit_change(tmp_path: Path, home: dg.DagsterInstance) -> None:
    root = _project_with_history(tmp_path / "p", home, 12, nulls={})
    got = _suggestions(root, home)
    rng = got["range:distance"].entry["range"]
    assert rng["min"] == 0 and 2500 <= rng["max"] < 2500 * 1.609  # both ends, learned with a margin
    planned = checks("trips", got["range:distance"].entry, got["distribution:distance"].entry)
    history = DagsterCheckHistory(home)
    clean = _batch(tmp_path / "clean.parquet", 12)
    km = _batch(tmp_path / "km.parquet", 12, scale=1.609)
    assert [o.passed for o in evaluate_checks(target(clean, "trips"), planned, history=history)] == [
        True,
        True,
    ]
    outs = evaluate_checks(target(km, "trips"), planned, history=history)
    assert [o.passed for o in outs] == [False, False]
    dist = outs[1].metadata
    assert dist["metrics"]["mean"]["observed"] > dist["metrics"]["mean"]["upper"]
    assert 0 <= dist["estimated_false_alarm_rate"] <= dist["max_false_alarm_rate"]
    assert dist["metrics"]["mean"]["baseline_batches"] == 12


class DatedHistory:
    """The CheckHistory protocol over profiles of dated batches (daily materializations)."""

    def __init__(self) -> None:
        self.items: list[HistoryRecord] = []

    def records(self, asset: str, limit: int) -> list[HistoryRecord]:
        return list(reversed(self.items))[:limit]


def _daily(path: Path, rows: int) -> Path:
    return write_parquet(path, f"select r as order_id from range({rows}) t(r)")


def test_weekday_seasonality_keeps_a_holiday_week_quiet(tmp_path: Path) -> None:
    volume = [1000, 1010, 990, 1020, 1100, 600, 400]  # Mon..Sun
    start = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)  # a Monday
    history = DatedHistory()
    holiday_weeks = {3}

    def rows(day: int) -> int:
        wobble = (day * 37) % 21 - 10  # +-1% noise
        return int(volume[day % 7] * (0.94 if day // 7 in holiday_weeks else 1.0)) + wobble

    for day in range(56):
        path = _daily(tmp_path / f"d{day}.parquet", rows(day))
        ts = (start + dt.timedelta(days=day)).timestamp()
        prof = profile_for_metadata(target(path, "orders"))
        history.items.append(HistoryRecord(f"r{day}", ts, prof["rows"], file_md5(path), prof))
    check = checks("orders", {"row_count_anomaly": {}})

    def judge(day: int, count: int) -> Any:
        path = _daily(tmp_path / f"now{day}-{count}.parquet", count)
        when = (start + dt.timedelta(days=day)).timestamp()
        return evaluate_checks(target(path, "orders", materialized_at=when), check, history=history)[0]

    # a holiday week (every day 6% low), Sunday included: quiet
    for day in range(56, 63):
        out = judge(day, int(volume[day % 7] * 0.94))
        assert out.passed, out.metadata
        assert out.metadata["seasonal"] is True
    # a Sunday is not a partial Monday, but a Wednesday at half volume is
    assert not judge(58, 500).passed
    assert "outside" in judge(58, 500).metadata["reason"]
    # without seasonality the same Sunday would be an outlier or the band would be too wide
    flat = checks("orders", {"row_count_anomaly": {"seasonality": "none"}})
    path = _daily(tmp_path / "wed.parquet", 500)
    when = (start + dt.timedelta(days=58)).timestamp()
    flat_out = evaluate_checks(target(path, "orders", materialized_at=when), flat, history=history)[0]
    assert flat_out.metadata["seasonal"] is False and flat_out.passed  # a flat band cannot see it


def _failed_evaluation(instance: dg.DagsterInstance, outcome: Any) -> None:
    check = outcome.check
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey([check.asset]),
            check_name=check.name,
            passed=outcome.passed,
            metadata=outcome_metadata(outcome),
        )
    )


def test_feedback_widens_a_threshold(tmp_path: Path, home: dg.DagsterInstance) -> None:
    root = _project_with_history(tmp_path / "p", home, 12, nulls={})
    entry = {"distribution": {"column": "distance", "metrics": ["mean"]}}
    spec = SPEC + "    checks:\n      - {distribution: {column: distance, metrics: [mean]}}\n"
    (root / "asset_specs" / "g.yaml").write_text(spec)
    planned = checks("trips", entry)
    history = DagsterCheckHistory(home)
    shifted = _batch(tmp_path / "shift.parquet", 12, scale=1.3)
    before = evaluate_checks(target(shifted, "trips"), planned, history=history)[0]
    assert not before.passed
    tolerance = before.metadata["metrics"]["mean"]["tolerance"]
    _failed_evaluation(home, before)

    result = CliRunner().invoke(
        app, ["feedback", "trips", planned[0].name, "--false-alarm", "--project-dir", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert "recorded a false alarm" in result.output and "widen" in result.output

    after = evaluate_checks(target(shifted, "trips"), planned, history=history)[0]
    mean = after.metadata["metrics"]["mean"]
    assert after.passed and mean["tolerance"] > tolerance and mean["tolerance_set_by"] == "feedback"
    # the optimizer proposes retuning once it has seen repeated false alarms
    _failed_evaluation(home, before)
    assert (
        CliRunner()
        .invoke(app, ["feedback", "trips", planned[0].name, "--false-alarm", "-p", str(root)])
        .exit_code
        == 0
    )
    from datacody_dagster.optimizer.rules.base import RuleContext
    from datacody_dagster.optimizer.rules.false_alarms import check_false_alarms
    from datacody_dagster.optimizer.signals import collect_signals

    project = compile_project(root)
    proposals = check_false_alarms(RuleContext(project.plan, collect_signals(home, project.plan)))
    assert len(proposals) == 1 and proposals[0].evidence["false_alarms"] == 2
    assert proposals[0].patch.args["max_false_alarm_rate"] < 0.01


def test_feedback_without_a_failure_is_a_clear_error(tmp_path: Path, home: dg.DagsterInstance) -> None:
    root = _project_with_history(tmp_path / "p", home, 1, nulls={})
    (root / "asset_specs" / "g.yaml").write_text(SPEC + "    checks:\n      - not_null: [trip_id]\n")
    result = CliRunner().invoke(
        app, ["feedback", "trips", "not_null_trip_id", "--false-alarm", "-p", str(root)]
    )
    assert result.exit_code == 1
    assert "no failed evaluation" in result.output
    result = CliRunner().invoke(app, ["feedback", "trips", "nope", "--false-alarm", "-p", str(root)])
    assert result.exit_code == 1 and "has no check named 'nope'" in result.output


def test_bad_calibration_arguments_point_at_the_spec(tmp_path: Path) -> None:
    from datacody_dagster.errors import DatacodyError

    spec = SPEC + "    checks:\n      - distribution: {column: distance, max_false_alarm_rate: 2}\n"
    root = write_project(tmp_path / "p", {"g.yaml": spec}, dvc=False)
    with pytest.raises(DatacodyError) as info:
        compile_project(root)
    text = str(info.value)
    assert "asset_specs/g.yaml:6:" in text and "max_false_alarm_rate" in text and "less than 0.5" in text
    path = _batch(tmp_path / "t.parquet", 0)
    out = evaluate_checks(target(path, "trips"), checks("trips", {"distribution": {}}))[0]
    assert not out.passed and "needs a `column`" in (out.error or "")


def test_drift_threshold_learned_from_past_batch_scores(tmp_path: Path, home: dg.DagsterInstance) -> None:
    _project_with_history(tmp_path / "p", home, 12, nulls={})
    planned = checks("trips", {"drift": {"column": "distance"}}, {"drift": {"column": "carrier"}})
    history = DagsterCheckHistory(home)
    clean = evaluate_checks(target(_batch(tmp_path / "c.parquet", 12), "trips"), planned, history=history)
    assert [o.passed for o in clean] == [True, True], [o.metadata for o in clean]
    learned = clean[0].metadata["threshold_learned_from"]
    assert learned["past_scores"] == 11 and clean[0].metadata["threshold"] >= 0.1
    assert "estimated_false_alarm_rate" in clean[0].metadata
    km = evaluate_checks(
        target(_batch(tmp_path / "k.parquet", 12, scale=1.609), "trips"), planned, history=history
    )
    assert [o.passed for o in km] == [False, True]


def test_past_incidents_stay_out_of_the_baseline() -> None:
    from datacody_dagster.checks.calibrate import Point, learn_band

    day = 86_400.0
    values = [100.0 + (i * 7) % 5 for i in range(20)]
    values[12] = 400.0  # a past incident: a failed verdict nobody called a false alarm
    flagged = [Point(v, i * 7 * day, incident=(i == 12)) for i, v in enumerate(values)]
    band = learn_band(flagged, 20 * 7 * day)
    assert band is not None and band.excluded == 1 and band.upper < 120
    assert not band.contains(400.0) and band.contains(values[-1])
    meta = band.as_metadata()
    assert meta["baseline_batches"] == 19 and 0 <= meta["estimated_false_alarm_rate"] <= 0.01
