"""`drift` on a discrete column that counts up by design (a month, a year, a batch id).

Compared by PSI over value shares, such a column moved completely at every step and warned at
every batch. A batch that advanced past the previous values (most rows above all of them, or all
at or above the top while the previous batch had rows below it) is a trend step once the history
shows the column advancing before: its shares are not compared. A first advance, and any move
that is not an advance, are still judged; so is an advance unlike the steps before it (a sentinel,
a flood of nulls, half the rows back on old or unseen values).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from datacody_dagster.checks import evaluate_checks
from datacody_dagster.checks.discrete import (
    StepCounts,
    advanced,
    advanced_before,
    share_limit,
    trend_faults,
    trend_history,
)
from datacody_dagster.checks.history import HistoryRecord, file_md5, profile_for_metadata
from tests.checks.helpers import checks, target, write_parquet

START = dt.datetime(2024, 1, 1, 23, tzinfo=dt.UTC)
ROWS = 2000
# weekly batches: each row's month (1..12) from its day, so most batches hold one month and a
# rollover batch two; the column counts up by design
MONTH = "month(date '2013-01-01' + to_days(({b} * 7 + i % 7)::int))"


class _History:
    def __init__(self) -> None:
        self.items: list[HistoryRecord] = []

    def records(self, asset: str, limit: int) -> list[HistoryRecord]:
        return list(reversed(self.items))[:limit]


def _alarms(tmp: Path, values: list[str], **args: Any) -> list[int]:
    """The batches (after the first) whose `drift` on ``v`` fails, each judged against all before."""
    history, failed = _History(), []
    for b, expr in enumerate(values):
        path = write_parquet(
            tmp / f"b{b}.parquet",
            f"select i as id, ({expr})::bigint as v, random() as r from range({ROWS}) t(i)",
        )
        at = (START + dt.timedelta(days=b)).timestamp()
        if b:
            t = target(path, "t", materialized_at=at, data_version=file_md5(path), run_id=f"r{b}")
            outcome = evaluate_checks(t, checks("t", {"drift": {"column": "v", **args}}), history=history)[0]
            if not outcome.passed:
                failed.append(b)
            elif outcome.metadata.get("method") == "trend":
                assert "trending column" in outcome.metadata["note"]
        t = target(path, "t", data_version=file_md5(path))
        history.items.append(HistoryRecord(f"r{b}", at, ROWS, t.data_version, profile_for_metadata(t)))
    return failed


def test_a_month_of_weekly_batches_warns_only_at_its_first_advance(tmp_path: Path) -> None:
    # 24 weeks: months 1..6. The old code warned at batch 4 and at the weeks after each rollover.
    assert _alarms(tmp_path, [MONTH.format(b=b) for b in range(24)]) == [4]


def test_a_batch_id_warns_once_even_against_a_fixed_threshold(tmp_path: Path) -> None:
    assert _alarms(tmp_path / "id", [str(b) for b in range(12)], threshold=0.2) == [1]
    # a window of 5 ids moving by 3: most rows of each batch above the previous ones
    assert _alarms(tmp_path / "w", [f"{b} * 3 + i % 5" for b in range(12)], threshold=0.2) == [1]


def test_moves_that_are_no_trend_step_are_still_caught(tmp_path: Path) -> None:
    # a year that never moved, then year + 1: no advance in history, judged by PSI
    assert _alarms(tmp_path / "y", ["2013"] * 10 + ["2014"]) == [10]
    # a batch id that advanced every time, then goes back (an old batch reloaded)
    assert _alarms(tmp_path / "back", [str(b) for b in range(8)] + ["3"], threshold=0.2) == [1, 8]
    # a batch id that advanced, then a batch with most rows on the old id (a partial advance)
    assert _alarms(
        tmp_path / "part", [str(b) for b in range(6)] + ["5 + (i % 10 = 0)::int"], threshold=0.2
    ) == [1, 6]


def test_advance_rules_on_profiles() -> None:
    assert advanced({"7": 1.0}, {"8": 1.0})
    assert advanced({"2013": 0.4, "2014": 0.6}, {"2014": 1.0})  # at the top, the bottom gone
    assert not advanced({"2014": 1.0}, {"2014": 1.0})  # a constant column never advances
    assert not advanced({"1": 0.5, "2": 0.5}, {"1": 0.2, "2": 0.4, "3": 0.4})  # most rows not above
    assert advanced({"1": 0.5, "2": 0.5}, {"3": 0.6, "2": 0.3, "__null__": 0.1})
    assert not advanced({"a": 1.0}, {"b": 1.0})  # labels that are not numbers
    assert advanced_before([{"top": {"1": 1.0}}, {"top": {"1": 1.0}}, {"top": {"2": 1.0}}])
    assert not advanced_before([{"top": {"1": 1.0}}, {"top": {"1": 1.0}}])


def test_an_advance_that_breaks_the_trend_still_alarms(tmp_path: Path) -> None:
    # batch ids 0..7 (a trend step every batch), then a batch that advanced but is faulty
    ids = [str(b) for b in range(8)]
    faults = {
        "sentinel": "999999",  # far past the largest step history shows
        "nulls": "case when i % 10 = 0 then 8 end",  # 90% null, the rest advanced
        "old": "case when i % 100 < 51 then 8 else 0 end",  # 49% back on the first id
        "garbage": "case when i % 100 < 51 then 8 else -1 end",  # 49% on a value never seen
    }
    for name, expr in faults.items():
        assert _alarms(tmp_path / name, [*ids, expr], threshold=0.2) == [1, 8], name
        # a learned threshold (past trend steps scored PSI ~18) would pass them by PSI: the trend
        # step itself must reject them
        assert _alarms(tmp_path / f"{name}-learned", [*ids, expr]) == [1, 8], name


def test_a_trend_step_within_what_history_shows_still_passes(tmp_path: Path) -> None:
    ids = [str(b) for b in range(8)]
    # a skipped batch (id + 2) and a share of nulls the history already showed
    assert _alarms(tmp_path / "skip", [*ids, "9"], threshold=0.2) == [1]
    few = "case when i % 200 = 0 then null else 8 end"  # 0.5% nulls: not_null's business, not drift
    assert _alarms(tmp_path / "few", [*ids, few], threshold=0.2) == [1]
    nully = [f"case when i % 20 = 0 then null else {b} end" for b in range(9)]
    assert _alarms(tmp_path / "nulls", nully, threshold=0.2) == [1]


def test_trend_guards_on_profiles() -> None:
    # a month of weekly batches: Jan, a rollover week (3/7 Jan, 4/7 Feb), Feb
    weeks = [(700, {"top": {"1": 1.0}, "nulls": 0}), (700, {"top": {"1": 3 / 7, "2": 4 / 7}, "nulls": 0})]
    weeks.append((700, {"top": {"2": 0.9, "__null__": 0.1}, "nulls": 70}))
    hist = trend_history(weeks)
    assert hist is not None and (hist.step, hist.null_share, hist.below_share) == (1.0, 0.1, 0.0)
    assert trend_history(weeks[:1] * 3) is None  # never advanced
    # next rollover: the previous top 2, within 3 steps, 10% nulls as before, nothing below Feb
    assert trend_faults(hist, 2.0, StepCounts(700, 70, 0, 0, 3.0)) == []
    reasons = [r for r, _ in trend_faults(hist, 2.0, StepCounts(700, 300, 100, 5, 99.0))]
    assert len(reasons) == 3
    assert "past 5" in reasons[0] and "null" in reasons[1] and "below" in reasons[2]
    assert share_limit(0.0, 2000) == 0.01  # a few new nulls are not drift
    assert 0.14 < share_limit(0.1, 700) < 0.15  # 4 standard deviations of a share on 700 rows
