"""-0.0 against 0.0 and NaN against NaN: unchanged on every path of the diff (SQL's equality).

The ordered keyed path counts changed rows from per-column hashes without reading them back, the
one-join path compares the flagged rows exactly and the multiset path matches row hashes: all
three must agree. They do because DuckDB hashes -0.0 like 0.0 and every NaN (any sign or payload,
as numpy or Spark may write them) alike, also inside lists and structs; this test keeps it so.
"""

from __future__ import annotations

import struct
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacody_dagster.versioning import diff
from datacody_dagster.versioning.key_ranges import key_pieces

N = 40_000
PIECE_ROWS = 8_000


def _nan(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


NANS = [float("nan"), -float("nan"), _nan(0x7FF8000000000001), _nan(0xFFF8000000000ABC)]


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    """Old: 0.0 and the canonical NaN; new: -0.0 and NaNs of other bit patterns at the same keys,
    plus one real change (id 5); both ordered by id, in row groups of 4,096 rows."""
    ids = list(range(N))
    old_x = [0.0 if i % 100 == 0 else float("nan") if i % 100 == 1 else float(i) for i in ids]
    new_x = [
        -0.0 if i % 100 == 0 else NANS[(i // 100) % 4] if i % 100 == 1 else 6.5 if i == 5 else float(i)
        for i in ids
    ]
    old_f = [float(i % 7) for i in ids]
    new_f = [-0.0 if i % 7 == 0 else float(i % 7) for i in ids]
    old_l = [[0.0, float("nan")] if i % 50 == 0 else [float(i)] for i in ids]
    new_l = [[-0.0, NANS[(i // 50) % 4]] if i % 50 == 0 else [float(i)] for i in ids]

    def write(path: Path, x: list[float], f: list[float], lst: list[list[float]]) -> Path:
        table = pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "x": pa.array(x, pa.float64()),
                "f": pa.array(f, pa.float32()),
                "l": pa.array(lst, pa.list_(pa.float64())),
            }
        )
        pq.write_table(table, path, row_group_size=4096)
        return path

    return write(tmp_path / "old.parquet", old_x, old_f, old_l), write(
        tmp_path / "new.parquet", new_x, new_f, new_l
    )


def test_signed_zero_and_nan_payloads_are_in_the_files(tmp_path: Path) -> None:
    _, new = _pair(tmp_path)
    rows = duckdb.sql(
        f"select x::varchar, f::varchar from read_parquet('{new}') where id in (0, 7, 1)"
    ).fetchall()
    assert ("-0.0", "-0.0") in rows  # the zeros really are negative on the new side
    bits = pq.read_table(new).column("x").to_pylist()
    assert {struct.pack("<d", bits[i]) for i in (1, 101, 201, 301)} == {struct.pack("<d", v) for v in NANS}


@pytest.mark.parametrize("path", ["ordered", "one_join", "multiset"])
def test_zero_and_nan_count_as_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    old, new = _pair(tmp_path)
    used: list[object] = []

    def pieces(*args: object, **kwargs: object) -> object:
        found = key_pieces(*args, **kwargs, piece_rows=PIECE_ROWS) if path == "ordered" else None  # type: ignore[arg-type]
        used.append(found)
        return found

    monkeypatch.setattr(diff, "key_pieces", pieces)
    d = diff.diff_paths(old, new, None if path == "multiset" else ["id"])
    if path == "multiset":
        # one changed row: one removed plus one added, nothing else
        assert (d.rows.added, d.rows.removed, d.rows.changed) == (1, 1, None)
        return
    assert (used[0] is not None) == (path == "ordered")
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (0, 0, 1)
    assert d.rows.changed_columns == {"x": 1}
    assert d.rows.sample_changed == [{"id": 5, "changed": ["x"], "old": {"x": 5.0}, "new": {"x": 6.5}}]


def test_a_real_sign_change_still_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard above is not blind: 1.0 -> -1.0 is a change on the ordered path."""
    old = tmp_path / "a.parquet"
    new = tmp_path / "b.parquet"
    pq.write_table(pa.table({"id": list(range(N)), "x": [1.0] * N}), old, row_group_size=4096)
    pq.write_table(pa.table({"id": list(range(N)), "x": [-1.0] + [1.0] * (N - 1)}), new, row_group_size=4096)
    monkeypatch.setattr(diff, "key_pieces", partial(key_pieces, piece_rows=PIECE_ROWS))
    d = diff.diff_paths(old, new, ["id"])
    assert (d.rows.changed, d.rows.changed_columns) == (1, {"x": 1})
