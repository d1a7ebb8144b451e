"""Issue 11: bands for columns piled on a bound (rain: mostly 0 mm; visibility: capped at 10).

History is the `CheckHistory` protocol over real Parquet profiles of dated weekly batches; checks
are evaluated by the same engine the runtime's asset checks call.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from datacody_dagster.checks import evaluate_checks, profile_for_metadata
from datacody_dagster.checks.bounded import piled_bound
from datacody_dagster.checks.candidates import MIN_BATCHES_DRIFT, calibrated_candidates, column_candidates
from datacody_dagster.checks.history import HistoryRecord, file_md5
from tests.checks.helpers import checks, target, write_parquet

START = dt.datetime(2013, 1, 7, tzinfo=dt.UTC)
# share of rainy hours per week: mostly dry, a few wet weeks (the history has seen 25%)
WET = [0.04, 0.06, 0.03, 0.25, 0.05, 0.07, 0.02, 0.05, 0.18, 0.04, 0.06, 0.03, 0.05, 0.08, 0.04, 0.22]


class DatedHistory:
    def __init__(self) -> None:
        self.items: list[HistoryRecord] = []

    def records(self, asset: str, limit: int) -> list[HistoryRecord]:
        return list(reversed(self.items))[:limit]


def _week(path: Path, week: int, wet: float, unit: float = 1.0) -> Path:
    """168 hourly rows per station (3 stations): rain in ``wet`` of the hours, else 0."""
    rain = (
        f"case when (hash(r, {week}) % 1000) < {int(wet * 1000)}"
        f" then round(0.01 + (hash(r, {week}, 1) % 30) / 100.0, 2) else 0 end"
    )
    return write_parquet(
        path,
        f"select r as hour, {rain} * {unit} as precip,"
        f" least(10.0, round(6 + (hash(r, {week}, 2) % 1200) / 100.0, 1)) as visib"
        f" from range(504) t(r)",
    )


def _history(tmp_path: Path) -> DatedHistory:
    history = DatedHistory()
    for week, wet in enumerate(WET):
        path = _week(tmp_path / f"w{week}.parquet", week, wet)
        ts = (START + dt.timedelta(days=7 * week)).timestamp()
        prof = profile_for_metadata(target(path, "weather"))
        history.items.append(HistoryRecord(f"r{week}", ts, prof["rows"], file_md5(path), prof))
    return history


def _judge(tmp_path: Path, history: DatedHistory, entries: list[Any], wet: float, unit: float = 1.0) -> Any:
    week = len(WET)
    path = _week(tmp_path / f"now-{wet}-{unit}.parquet", week, wet, unit)
    when = (START + dt.timedelta(days=7 * week)).timestamp()
    planned = checks("weather", *entries)
    return evaluate_checks(target(path, "weather", materialized_at=when), planned, history=history)


def test_zero_inflated_column_quiet_on_a_wet_week_the_history_has_seen(tmp_path: Path) -> None:
    history = _history(tmp_path)
    profiles = [r.profile for r in reversed(history.items) if r.profile]
    precip = [p["columns"]["precip"] for p in profiles]
    bound = piled_bound(precip)
    assert bound is not None and (bound.side, bound.value) == ("floor", 0.0)
    visib = piled_bound([p["columns"]["visib"] for p in profiles])
    assert visib is not None and (visib.side, visib.value) == ("cap", 10.0)
    assert piled_bound([p["columns"]["hour"] for p in profiles]) is None

    # the suggester watches only the mean of a piled column (its quantiles sit on the bound)
    suggested = calibrated_candidates(profiles, set(), set(), len(profiles))
    metrics = {s.entry["distribution"]["column"]: s.entry["distribution"]["metrics"] for s in suggested[:-1]}
    assert metrics["precip"] == ["mean"] and metrics["visib"] == ["mean"]
    ranges = [s.entry for s in column_candidates(profiles, set()) if "range" in s.entry]
    entries = [s.entry for s in suggested if "distribution" in s.entry] + ranges

    # a week as wet as the wettest in the history: every suggested check stays quiet
    wet = _judge(tmp_path, history, entries, 0.24)
    assert all(o.passed for o in wet), [o.metadata.get("reason") for o in wet if not o.passed]
    rain = next(o for o in wet if o.check.name == "distribution_precip")
    assert rain.metadata["metrics"]["mean"]["method"].startswith("zero-inflated at 0")
    assert "robust residual scale" in rain.metadata["method_detail"]
    mean = rain.metadata["metrics"]["mean"]
    assert mean["lower"] == 0 and mean["upper"] > max(p["mean"] for p in precip)

    # a unit change (inches -> mm) on an ordinary week fails: the learned range catches it (the
    # mean's band is wide on purpose, weekly rain varies ten-fold), and nothing else does
    mm = _judge(tmp_path, history, entries, 0.05, unit=25.4)
    assert {o.check.name for o in mm if not o.passed} == {"range_precip"}


def _orders(path: Path, day: int, shift: float = 0.0) -> Path:
    """A stable feed: a channel mix and a basket size that do not move from day to day, and a
    daily promotion code whose share swings (no stable distribution to watch)."""
    return write_parquet(
        path,
        f"select ['web', 'app', 'store'][1 + (hash(r, {day}) % 3)::int] as channel,"
        f" 20 + (hash(r, {day}, 1) % 1000) / 10.0 + {shift} as basket,"
        f" case when hash(r, {day}, 2) % 100 < {(day * 37) % 60} then 'promo' else 'none' end as code"
        f" from range(2000) t(r)",
    )


def _drift_suggestions(tmp_path: Path, batches: int) -> tuple[DatedHistory, list[Any]]:
    history = DatedHistory()
    for day in range(batches):
        path = _orders(tmp_path / f"d{day}.parquet", day)
        ts = (START + dt.timedelta(days=day)).timestamp()
        prof = profile_for_metadata(target(path, "orders"))
        history.items.append(HistoryRecord(f"r{day}", ts, prof["rows"], file_md5(path), prof))
    profiles = [r.profile for r in reversed(history.items) if r.profile]
    return history, [s for s in calibrated_candidates(profiles, set(), set(), batches) if "drift" in s.entry]


def test_drift_is_suggested_once_history_shows_a_stable_distribution(tmp_path: Path) -> None:
    _, early = _drift_suggestions(tmp_path / "early", MIN_BATCHES_DRIFT - 1)
    assert early == []  # too few past batches to learn a threshold from

    history, drifts = _drift_suggestions(tmp_path / "enough", MIN_BATCHES_DRIFT)
    assert sorted(s.entry["drift"]["column"] for s in drifts) == ["basket", "channel"]  # not `code`
    for s in drifts:
        assert s.entry["severity"] == "warn" and "threshold" not in s.entry["drift"]
        assert s.batches == MIN_BATCHES_DRIFT and "stable between consecutive batches" in s.reason
    entries = [s.entry for s in drifts]

    def judge(shift: float) -> list[Any]:
        day = MIN_BATCHES_DRIFT
        path = _orders(tmp_path / f"now{shift}.parquet", day, shift)
        when = (START + dt.timedelta(days=day)).timestamp()
        planned = checks("orders", *entries)
        return evaluate_checks(target(path, "orders", materialized_at=when), planned, history=history)

    clean = judge(0.0)
    assert all(o.passed for o in clean), [o.metadata for o in clean]
    learned = clean[0].metadata["threshold_learned_from"]
    assert learned["past_scores"] == MIN_BATCHES_DRIFT - 1 and "estimated_false_alarm_rate" in learned
    assert learned["method"].startswith("upper edge of a band over the scores between consecutive")
    shifted = {o.check.name: o.passed for o in judge(15.0)}  # a mean shift of a sixth of the range
    assert shifted == {"drift_basket": False, "drift_channel": True}


def test_a_weekly_pattern_needs_two_residuals_per_weekday_before_it_is_believed() -> None:
    from datacody_dagster.checks.calibrate import Point, learn_band

    pattern = [100.0, 103.0, 97.0, 104.0, 110.0, 70.0, 50.0]

    def band(days: int) -> Any:
        history = [
            Point(pattern[d % 7] + (d * 7919) % 5 - 2, (START + dt.timedelta(days=d)).timestamp())
            for d in range(days)
        ]
        return learn_band(history, (START + dt.timedelta(days=days)).timestamp())

    # three weeks: each weekday predicted once from the two before it; a coincidence of
    # seven numbers is no weekly pattern yet (seven baselines always fit noise better than one)
    early = band(21)
    assert early is not None and early.seasonal is False
    late = band(28)  # four weeks: every weekday predicted twice
    assert late is not None and late.seasonal is True
    assert late.tolerance < early.tolerance / 3


def test_sampling_error_floors_a_band_learned_from_a_calm_stretch(tmp_path: Path) -> None:
    import statistics

    from datacody_dagster.checks.calibrate import Point, learn_band
    from datacody_dagster.checks.sampling import sampling_error

    # 30 batches of 500 normal rows (sd 10): the batch mean moves by ~10 / sqrt(500) = 0.45
    past = []
    for b in range(30):
        u1 = f"greatest((hash(r, {b}) % 1000000 + 1) / 1000001.0, 1e-9)"
        u2 = f"(hash(r, {b}, 1) % 1000000) / 1000000.0"
        sql = f"select 50 + 10 * sqrt(-2 * ln({u1})) * cos(6.283185 * {u2}) as x from range(500) t(r)"
        prof = profile_for_metadata(target(write_parquet(tmp_path / f"n{b}.parquet", sql)))
        past.append((prof["columns"]["x"], prof["rows"]))
    observed = statistics.stdev(c["mean"] for c, _ in past)
    for metric in ("mean", "spread"):
        assert sampling_error(metric, past) > 0
    assert 0.7 < sampling_error("mean", past) / observed < 1.4, (sampling_error("mean", past), observed)

    # a history that happened to be calm (means within 0.01) learns a band far narrower than
    # chance allows; with the sampling error as a floor, an ordinary batch stays quiet
    calm = [Point(50 + 0.01 * (d % 2), (START + dt.timedelta(days=7 * d)).timestamp()) for d in range(12)]
    now = (START + dt.timedelta(days=84)).timestamp()
    bare = learn_band(calm, now)
    floored = learn_band(calm, now, sampling_error=sampling_error("mean", past))
    assert bare is not None and floored is not None
    assert not bare.contains(50 + observed) and floored.contains(50 + observed)
    assert floored.as_metadata()["scale_set_by"] == "sampling_error"
    assert not floored.contains(50 + 20 * observed)  # a real shift still fails


def test_drift_threshold_allows_for_the_chance_drift_of_a_small_batch(tmp_path: Path) -> None:
    from datacody_dagster.checks.drift_noise import chance_score

    # chance drift shrinks with batch size: a PSI of 0.1 is noise between 120 and 2,000 rows
    assert chance_score("psi", 10, 120, 2000, 0.01) > 0.1 > chance_score("psi", 10, 2000, 2000, 0.01)
    assert 0 < chance_score("category_shares", 3, 120, 2000, 0.01) < 1

    history = DatedHistory()
    for day in range(MIN_BATCHES_DRIFT):
        path = _orders(tmp_path / f"d{day}.parquet", day)
        prof = profile_for_metadata(target(path, "orders"))
        ts = (START + dt.timedelta(days=day)).timestamp()
        history.items.append(HistoryRecord(f"r{day}", ts, prof["rows"], file_md5(path), prof))
    planned = checks("orders", {"drift": {"column": "basket"}})
    when = (START + dt.timedelta(days=MIN_BATCHES_DRIFT)).timestamp()

    def judge(name: str, sql: str) -> Any:
        path = write_parquet(tmp_path / f"{name}.parquet", sql)
        return evaluate_checks(target(path, "orders", materialized_at=when), planned, history=history)[0]

    small = judge(
        "small", f"select * from read_parquet('{tmp_path}/d3.parquet') using sample 120 rows (reservoir, 5)"
    )
    assert small.metadata["score"] > 0.1  # past the conventional PSI limit, by chance alone
    assert small.passed and small.metadata["threshold_set_by"] == "sampling_error", small.metadata
    shifted = judge("shifted", f"select basket + 50 as basket from read_parquet('{tmp_path}/small.parquet')")
    assert not shifted.passed
