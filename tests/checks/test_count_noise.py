"""Row-count bands are never narrower than a count's chance variation at the judged weekday.

A daily feed with a weekly pattern (Friday ~880 orders, Sunday ~400): each day's count is
drawn around its weekday's level with a count's noise (sd = sqrt(level)). The learned band's
residual scale is pooled over the week and, over a calm stretch, smaller than chance; the floor
is the judged weekday's own count noise.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from pathlib import Path

import pytest

from datacody_dagster.checks import evaluate_checks
from datacody_dagster.checks.calibrate import Point, learn_band
from datacody_dagster.checks.count_noise import count_noise
from datacody_dagster.checks.history import HistoryRecord
from tests.checks.helpers import checks, target, write_parquet

START = dt.datetime(2024, 1, 1, 23, tzinfo=dt.UTC)  # a Monday
VOLUME = [1.0, 1.02, 1.0, 1.05, 1.1, 0.7, 0.5]  # Mon..Sun, x 800


def _feed(seed: int, days: int = 200) -> list[Point]:
    rng = random.Random(seed)
    out = []
    for d in range(days):
        mean = 800 * VOLUME[d % 7] * (1 + 0.002 * (d // 7))
        out.append(
            Point(float(int(rng.gauss(mean, math.sqrt(mean)))), (START + dt.timedelta(days=d)).timestamp())
        )
    return out


def test_the_floor_follows_the_judged_weekdays_level() -> None:
    feed = _feed(1, 70)
    friday, sunday = 67, 69  # the weekday of day d is d % 7
    fri = learn_band(feed[:friday], feed[friday].timestamp, noise_at=count_noise)
    sun = learn_band(feed[:sunday], feed[sunday].timestamp, noise_at=count_noise)
    assert fri is not None and sun is not None and fri.seasonal and sun.seasonal
    assert 800 < fri.expected < 1000 and 350 < sun.expected < 450
    for band in (fri, sun):  # at least the count noise of that day's level
        assert band.scale >= math.sqrt(band.expected) * math.sqrt(1 + math.pi / 10) - 1e-9
    # a calm history (every day exactly on its weekday's level) is floored at each day's own noise
    calm = [Point(800 * VOLUME[d % 7], (START + dt.timedelta(days=d)).timestamp()) for d in range(70)]
    fri_calm = learn_band(calm[:friday], calm[friday].timestamp, noise_at=count_noise)
    sun_calm = learn_band(calm[:sunday], calm[sunday].timestamp, noise_at=count_noise)
    assert fri_calm is not None and sun_calm is not None
    assert fri_calm.sampling_floor and sun_calm.sampling_floor
    assert fri_calm.scale / sun_calm.scale == pytest.approx(math.sqrt(880 / 400))


def test_no_weekly_pattern_no_count_floor() -> None:
    # weekly batches of fixed-schedule readings: the count does not vary by chance
    weekly = [Point(504.0 + (w % 2), (START + dt.timedelta(days=7 * w)).timestamp()) for w in range(30)]
    band = learn_band(weekly[:-1], weekly[-1].timestamp, noise_at=count_noise)
    assert band is not None and not band.seasonal and not band.sampling_floor


def test_a_day_within_chance_no_longer_alarms() -> None:
    # Found by replaying 8 seeds x 184 days (one alarm without the floor, none with it): on day
    # 113 (a Tuesday) of seed 4, the scale pooled over 60 days was under 3/4 of a Tuesday's
    # count noise.
    feed, day = _feed(4), 113
    past = feed[day - 60 : day]
    tolerance = 0.1 * statistics.median(p.value for p in past)
    bare = learn_band(past, feed[day].timestamp, max_false_alarm_rate=0.001, min_tolerance=tolerance)
    floored = learn_band(
        past, feed[day].timestamp, max_false_alarm_rate=0.001, min_tolerance=tolerance, noise_at=count_noise
    )
    assert bare is not None and floored is not None and floored.seasonal
    assert bare.scale < 0.75 * math.sqrt(bare.expected)
    assert not bare.contains(feed[day].value) and floored.contains(feed[day].value)
    # what a row count should catch still fails: a partial batch, a fifth of the rows twice
    assert not floored.contains(0.6 * feed[day].value) and not floored.contains(1.2 * feed[day].value)


def test_row_count_anomaly_check_uses_the_floor(tmp_path: Path) -> None:
    """Through the check engine: a normal Tuesday passes, a 40% partial batch still fails."""

    class History:
        def __init__(self, points: list[Point]) -> None:
            self.items = [
                HistoryRecord(f"r{i}", p.timestamp, int(p.value), f"v{i}", None) for i, p in enumerate(points)
            ]

        def records(self, asset: str, limit: int) -> list[HistoryRecord]:
            return list(reversed(self.items))[:limit]

    calm = [Point(800 * VOLUME[d % 7], (START + dt.timedelta(days=d)).timestamp()) for d in range(64)]
    history = History(calm)
    tuesday = (START + dt.timedelta(days=64)).timestamp()
    level = 816
    planned = checks("orders", {"row_count_anomaly": {"min_tolerance": 0, "max_false_alarm_rate": 0.001}})

    def judge(rows: int) -> dict[str, object]:
        path = write_parquet(tmp_path / f"b{rows}.parquet", f"select r as order_id from range({rows}) t(r)")
        out = evaluate_checks(target(path, "orders", materialized_at=tuesday), planned, history=history)[0]
        return {"passed": out.passed, **out.metadata}

    ordinary = judge(level + int(3 * math.sqrt(level)))  # three count-sds off: chance
    assert ordinary["passed"] and ordinary["scale_set_by"] == "sampling_error", ordinary
    assert ordinary["seasonal"] is True
    partial = judge(int(level * 0.6))
    assert not partial["passed"], partial


class _History:
    def __init__(self, points: list[Point]) -> None:
        self.items = [
            HistoryRecord(f"r{i}", p.timestamp, int(p.value), f"v{i}", None) for i, p in enumerate(points)
        ]

    def records(self, asset: str, limit: int) -> list[HistoryRecord]:
        return list(reversed(self.items))[:limit]


def test_min_tolerance_is_relative_to_the_judged_weekdays_level(tmp_path: Path) -> None:
    """A feed big enough for the 10% floor to bind (20,000 on weekdays, 10,000 on Sundays): the
    floor is 10% of the judged day's level, not of the median over the week (~20,000)."""
    calm = [Point(20_000 * VOLUME[d % 7], (START + dt.timedelta(days=d)).timestamp()) for d in range(63)]
    planned = checks("orders", {"row_count_anomaly": {"max_false_alarm_rate": 0.001}})  # default 10%

    def judge(day: int, rows: int) -> dict[str, object]:
        at = (START + dt.timedelta(days=day)).timestamp()
        path = write_parquet(
            tmp_path / f"b{day}_{rows}.parquet", f"select r as order_id from range({rows}) t(r)"
        )
        out = evaluate_checks(target(path, "orders", materialized_at=at), planned, history=_History(calm))[0]
        return {"passed": out.passed, **out.metadata}

    sunday, friday = 69, 67
    dropped = judge(sunday, 8_500)  # 15% below a Sunday's 10,000: 1,500 off, within 10% of 20,000
    assert dropped["seasonal"] is True and dropped["expected"] == 10_000, dropped
    assert not dropped["passed"] and dropped["tolerance_set_by"] == "min_tolerance", dropped
    assert dropped["tolerance"] == pytest.approx(1_000)
    assert judge(sunday, 10_900)["passed"]  # 9% above: within its own 10%
    busy = judge(friday, 24_000)  # 9% above a Friday's 22,000: 2,000 off, beyond 10% of 20,000
    assert busy["passed"] and busy["tolerance"] == pytest.approx(2_200), busy
    assert not judge(friday, 24_500)["passed"]
