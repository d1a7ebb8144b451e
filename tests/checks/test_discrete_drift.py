"""`drift` on a discrete number column compares value shares, not degenerate quantile bins.

`items` takes six values. Its approximate deciles fall between them, so quantile bins were
empty or shared, and the batch-to-batch scores a learned threshold comes from were 1 to 3 (PSI),
far above any real shift: a planted category shift went unseen. Over value shares a seeded
stable history raises no alarm and the shifts are caught.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from datacody_dagster.checks import evaluate_checks
from datacody_dagster.checks.history import HistoryRecord, file_md5, profile_for_metadata
from datacody_dagster.checks.model import CheckOutcome
from tests.checks.helpers import checks, target, write_parquet

START = dt.datetime(2024, 1, 1, 23, tzinfo=dt.UTC)
ITEMS = "[1, 1, 2, 2, 2, 3, 3, 4, 5, 6][1 + (hash(i, {b}) % 10)::int]"  # shares .2 .3 .2 .1 .1 .1
BATCHES = 24
ROWS = 3000


class _History:
    def __init__(self) -> None:
        self.items: list[HistoryRecord] = []

    def records(self, asset: str, limit: int) -> list[HistoryRecord]:
        return list(reversed(self.items))[:limit]


def _batch(tmp: Path, b: int, items: str = ITEMS) -> Path:
    sql = f"select i as order_id, {items.format(b=b)} as items, random() as amount from range({ROWS}) t(i)"
    return write_parquet(tmp / f"b{b}_{abs(hash(items))}.parquet", sql)


def _judge(path: Path, b: int, history: _History, **args: Any) -> CheckOutcome:
    at = (START + dt.timedelta(days=b)).timestamp()
    planned = checks("orders", {"drift": {"column": "items", **args}})
    t = target(path, "orders", materialized_at=at, data_version=file_md5(path), run_id=f"r{b}")
    return evaluate_checks(t, planned, history=history)[0]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, _History, list[CheckOutcome]]:
    """A stable history, each batch judged (learned threshold) against the batches before it."""
    tmp = tmp_path_factory.mktemp("discrete")
    history, verdicts = _History(), []
    for b in range(BATCHES):
        path = _batch(tmp, b)
        if b >= 12:
            verdicts.append(_judge(path, b, history))
        t = target(path, "orders", data_version=file_md5(path))
        profile = profile_for_metadata(t)
        history.items.append(
            HistoryRecord(f"r{b}", (START + dt.timedelta(days=b)).timestamp(), ROWS, t.data_version, profile)
        )
    return tmp, history, verdicts


def test_a_discrete_column_is_profiled_by_value(seeded: tuple[Path, _History, list[CheckOutcome]]) -> None:
    _, history, _ = seeded
    cols = history.items[-1].profile["columns"]  # type: ignore[index]
    assert set(cols["items"]["top"]) == {"1", "2", "3", "4", "5", "6"}
    assert sum(cols["items"]["top"].values()) == pytest.approx(1.0, abs=1e-5)
    assert "top" not in cols["amount"]  # a continuous column keeps its quantile bins only


def test_a_stable_discrete_column_raises_no_alarm(seeded: tuple[Path, _History, list[CheckOutcome]]) -> None:
    _, _, verdicts = seeded
    assert verdicts and all(v.passed for v in verdicts), [v.metadata for v in verdicts if not v.passed]
    assert {v.metadata["method"] for v in verdicts} == {"category_psi"}
    # the threshold is learned from small batch-to-batch scores, not from degenerate bins
    assert all(v.metadata["threshold"] < 0.2 for v in verdicts), [v.metadata["threshold"] for v in verdicts]


@pytest.mark.parametrize(
    "shifted",
    [
        # a new value on 5% of the rows (a status code never seen)
        "case when hash(i, {b}, 9) % 20 = 0 then 7 else " + ITEMS + " end",
        # a tenth of the rows move from 2 to 5 (the values' set is unchanged)
        "case when " + ITEMS + " = 2 and hash(i, {b}, 9) % 3 = 0 then 5 else " + ITEMS + " end",
    ],
)
def test_a_category_shift_is_caught(seeded: tuple[Path, _History, list[CheckOutcome]], shifted: str) -> None:
    tmp, history, _ = seeded
    out = _judge(_batch(tmp, BATCHES, shifted), BATCHES, history)
    assert not out.passed, out.metadata
    assert out.metadata["method"] == "category_psi" and "items distribution moved" in out.metadata["reason"]
    clean = _judge(_batch(tmp, BATCHES), BATCHES, history)
    assert clean.passed, clean.metadata
