"""The keyed diff joined in key ranges (Parquet row-group statistics): the same exact counts."""

from __future__ import annotations

from functools import partial
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from datacody_dagster.versioning import diff
from datacody_dagster.versioning.key_ranges import key_pieces

N = 50_000


def _write(path: Path, sql: str) -> Path:
    con = duckdb.connect()
    con.execute(f"copy ({sql}) to '{path}' (format parquet, row_group_size 4096)")
    con.close()
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("pieces")
    old = _write(
        d / "old.parquet",
        f"""select i as id, i % 13 as v, 'x' || i as w,
                   case when i % 10 = 3 then null else (i * 0.25)::decimal(9,2) end as m
            from range({N}) t(i)""",
    )
    # Planted: ids < 300 removed, ids -50..-1 and N..N+199 added (beyond both ends of the old
    # range), v changed where id % 97 = 0, w where id % 1000 = 1, m (widened to DECIMAL(10,3))
    # set from NULL where id % 1000 = 3; written in descending order.
    new = _write(
        d / "new.parquet",
        f"""select i as id, case when i % 97 = 0 then -1 else i % 13 end as v,
                   case when i % 1000 = 1 then 'y' else 'x' end || i as w,
                   (case when i % 1000 = 3 then 0 when i % 10 = 3 then null else i * 0.25 end)
                       ::decimal(10,3) as m
            from (select * from range(300, {N + 200}) t(i) union all select * from range(-50, 0) t(i))
            order by i desc""",
    )
    return old, new


def test_pieces_cover_the_keys_from_row_group_statistics(pair: tuple[Path, Path]) -> None:
    old, new = pair
    con = duckdb.connect()
    pieces = key_pieces(con, "id", "BIGINT", [old], [new], piece_rows=10_000)
    assert pieces is not None and len(pieces) >= 4
    assert pieces[0][0] is None and pieces[-1][1] is None
    assert all(a[1] == b[0] for a, b in pairwise(pieces))  # no gap, no overlap
    assert key_pieces(con, "id", "VARCHAR", [old], [new], piece_rows=10_000) is None
    assert key_pieces(con, "id", "BIGINT", [old], [new], piece_rows=N) is None  # small: one piece
    con.close()


def test_unordered_or_null_keys_take_one_piece(pair: tuple[Path, Path], tmp_path: Path) -> None:
    old, _ = pair
    shuffled = _write(tmp_path / "s.parquet", f"select * from read_parquet('{old}') order by hash(id)")
    nulls = _write(
        tmp_path / "n.parquet", f"select * from read_parquet('{old}') union all select null, 1, 'z', null"
    )
    con = duckdb.connect()
    assert key_pieces(con, "id", "BIGINT", [old], [shuffled], piece_rows=10_000) is None
    assert key_pieces(con, "id", "BIGINT", [old], [nulls], piece_rows=10_000) is None
    con.close()


def test_pieces_give_the_counts_of_one_join(pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = pair
    whole = diff.diff_paths(old, new, ["id"])
    used: list[object] = []

    def spy(*args: object, **kwargs: object) -> object:
        pieces = key_pieces(*args, **kwargs, piece_rows=10_000)  # type: ignore[arg-type]
        used.append(pieces)
        return pieces

    monkeypatch.setattr(diff, "key_pieces", spy)
    split = diff.diff_paths(old, new, ["id"])
    assert used and used[0] is not None
    v = len([i for i in range(300, N) if i % 97 == 0])
    w = len([i for i in range(300, N) if i % 1000 == 1])
    m = len([i for i in range(300, N) if i % 1000 == 3])
    rows = len([i for i in range(300, N) if i % 97 == 0 or i % 1000 in (1, 3)])
    assert (split.rows.added, split.rows.removed, split.rows.changed) == (250, 300, rows)
    assert split.rows.changed_columns == {"v": v, "w": w, "m": m}
    assert split.rows == whole.rows
    assert [r["id"] for r in split.rows.sample_added] == list(range(-50, -40))
    assert [r["id"] for r in split.rows.sample_removed] == list(range(10))


def test_a_duplicate_key_across_pieces_is_still_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key repeated once in the new side (past the sampled guard's reach: it is exact only up to
    its sample) is found by the pair counts summed over the pieces."""
    old = _write(tmp_path / "a.parquet", f"select i as id, i % 5 as v from range({N}) t(i)")
    new = _write(
        tmp_path / "b.parquet",
        f"select * from (select i as id, i % 5 as v from range({N}) t(i) union all select 7, 9) order by id",
    )
    monkeypatch.setattr(diff, "key_pieces", partial(key_pieces, piece_rows=10_000))
    monkeypatch.setattr(diff, "_repeated_in_sample", lambda *a, **k: False)
    d = diff.diff_paths(old, new, ["id"])
    assert d.rows.key is None and d.rows.note is not None and "not unique" in d.rows.note
    assert (d.rows.added, d.rows.removed) == (1, 0)
