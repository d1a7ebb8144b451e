"""Row-level diff of two Parquet outputs: exact counts on planted changes (real DuckDB files)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from datacody_dagster.versioning.diff import _repeated_in_sample, diff_paths

N = 20_000


def _write(path: Path, sql: str) -> Path:
    con = duckdb.connect()
    con.execute(f"copy ({sql}) to '{path}' (format parquet)")
    con.close()
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("diff")
    old = _write(
        d / "old.parquet",
        f"select i as id, 'n' || i as name, i * 1.5 as price, i % 7 as bucket from range({N}) t(i)",
    )
    # Planted: ids < 100 removed; 200 new ids added; price changed on ids % 50 = 0 (>= 100);
    # name changed on ids % 125 = 0 (>= 100, so 1,000 and 2,000 change both).
    new = _write(
        d / "new.parquet",
        f"""select i as id,
                   case when i % 125 = 0 then 'N' || i else 'n' || i end as name,
                   case when i % 50 = 0 then i * 1.5 + 1 else i * 1.5 end as price,
                   i % 7 as bucket
            from range(100, {N + 200}) t(i)""",
    )
    return old, new


def test_keyed_counts_are_exact(pair: tuple[Path, Path]) -> None:
    old, new = pair
    d = diff_paths(old, new, ["id"])
    price = len([i for i in range(100, N) if i % 50 == 0])
    name = len([i for i in range(100, N) if i % 125 == 0])
    both = len([i for i in range(100, N) if i % 50 == 0 and i % 125 == 0])
    assert (d.old_rows, d.new_rows) == (N, N + 100)
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (200, 100, price + name - both)
    assert d.rows.changed_columns == {"price": price, "name": name}
    assert [r["id"] for r in d.rows.sample_removed] == list(range(10))
    assert [r["id"] for r in d.rows.sample_added] == list(range(N, N + 10))
    first = d.rows.sample_changed[0]
    assert first == {"id": 100, "changed": ["price"], "old": {"price": 150.0}, "new": {"price": 151.0}}
    assert {
        "id": 250,
        "changed": ["name", "price"],
        "old": {"name": "n250", "price": 375.0},
        "new": {"name": "N250", "price": 376.0},
    } in d.rows.sample_changed


def test_unkeyed_is_a_multiset_diff(pair: tuple[Path, Path]) -> None:
    old, new = pair
    d = diff_paths(old, new)
    changed = len([i for i in range(100, N) if i % 50 == 0 or i % 125 == 0])
    assert d.rows.key is None and d.rows.changed is None
    assert (d.rows.added, d.rows.removed) == (200 + changed, 100 + changed)


def test_duplicate_rows_count_in_a_multiset(tmp_path: Path) -> None:
    old = _write(tmp_path / "a.parquet", "select * from (values (1, 'x'), (1, 'x'), (2, 'y')) t(a, b)")
    new = _write(tmp_path / "b.parquet", "select * from (values (1, 'x'), (2, 'y'), (2, 'y')) t(a, b)")
    d = diff_paths(old, new)
    assert (d.rows.added, d.rows.removed) == (1, 1)


def test_retyped_and_added_columns(tmp_path: Path) -> None:
    old = _write(tmp_path / "a.parquet", "select i as id, i as v from range(10) t(i)")
    new = _write(tmp_path / "b.parquet", "select i as id, i::varchar as v, 1 as extra from range(10) t(i)")
    d = diff_paths(old, new, ["id"])
    assert [(c.name, c.old_type, c.new_type) for c in d.schema] == [
        ("extra", None, "INTEGER"),
        ("v", "BIGINT", "VARCHAR"),
    ]
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (0, 0, 0)  # same values as text


def test_nulls_in_keys_and_values_are_exact(tmp_path: Path) -> None:
    old = _write(
        tmp_path / "a.parquet",
        "select * from (values (1, null, 'x'), (2, 5, null), (null, 1, 'k'), (4, 7, 'y'), (5, 1, 'z'))"
        " t(id, v, w)",
    )
    new = _write(
        tmp_path / "b.parquet",
        "select * from (values (1, 3, 'x'), (2, 5, 'w'), (null, 1, null), (4, 7, 'y'), (6, 1, 'z'))"
        " t(id, v, w)",
    )
    d = diff_paths(old, new, ["id"])
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (1, 1, 3)
    assert d.rows.changed_columns == {"v": 1, "w": 2}
    assert [r["id"] for r in d.rows.sample_changed] == [1, 2, None]
    assert d.rows.sample_changed[0] == {"id": 1, "changed": ["v"], "old": {"v": None}, "new": {"v": 3}}
    assert d.rows.sample_added == [{"id": 6}] and d.rows.sample_removed == [{"id": 5}]


def test_composite_key(tmp_path: Path) -> None:
    old = _write(tmp_path / "a.parquet", "select i % 10 as a, i // 10 as b, i as v from range(100) t(i)")
    new = _write(
        tmp_path / "b.parquet",
        "select i % 10 as a, i // 10 as b, case when i = 42 then -1 else i end as v from range(1, 101) t(i)",
    )
    d = diff_paths(old, new, ["a", "b"])
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (1, 1, 1)
    assert d.rows.sample_changed == [{"a": 2, "b": 4, "changed": ["v"], "old": {"v": 42}, "new": {"v": -1}}]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ("date '2024-01-01' + (i // 10)::int", date(2024, 1, 5)),
        ("'s' || (i // 10)", "s4"),
    ],
)
def test_composite_key_of_mixed_types(tmp_path: Path, second: str, expected: object) -> None:
    """(store_id INTEGER, day DATE) or (INTEGER, VARCHAR): the sample keys keep their types."""
    old = _write(tmp_path / "a.parquet", f"select i % 10 as id, {second} as d, i as v from range(100) t(i)")
    new = _write(
        tmp_path / "b.parquet",
        f"select i % 10 as id, {second} as d, case when i = 42 then -1 else i end as v from range(100) t(i)",
    )
    d = diff_paths(old, new, ["id", "d"])
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (0, 0, 1)
    changed = {"id": 2, "d": expected, "changed": ["v"], "old": {"v": 42}, "new": {"v": -1}}
    assert d.rows.sample_changed == [changed]


@pytest.mark.parametrize(
    ("old_rows", "new_rows"),
    [
        # duplicated on one side only, rows unchanged: the keyed join would see nothing
        ("(1, 'x'), (1, 'x'), (2, 'y')", "(1, 'x'), (2, 'y')"),
        # duplicates that offset each other in the matched counts, rows unchanged
        ("(1, 'x'), (1, 'x'), (2, 'y')", "(1, 'x'), (2, 'y'), (2, 'y')"),
        # duplicated on one side, rows changed
        ("(1, 'x'), (1, 'y'), (2, 'z')", "(1, 'x'), (2, 'z')"),
        # duplicated on both sides with different rows
        ("(1, 'x'), (1, 'y'), (2, 'z')", "(1, 'y'), (1, 'q'), (2, 'z')"),
    ],
)
def test_duplicate_keys_fall_back_to_an_exact_multiset(tmp_path: Path, old_rows: str, new_rows: str) -> None:
    old = _write(tmp_path / "a.parquet", f"select * from (values {old_rows}) t(id, v)")
    new = _write(tmp_path / "b.parquet", f"select * from (values {new_rows}) t(id, v)")
    d = diff_paths(old, new, ["id"])
    o, n = old_rows.split("), ("), new_rows.split("), (")
    o, n = [x.strip("()") for x in o], [x.strip("()") for x in n]
    removed = sum(max(o.count(r) - n.count(r), 0) for r in set(o))
    added = sum(max(n.count(r) - o.count(r), 0) for r in set(n))
    assert d.rows.key is None and d.rows.note is not None and "not unique" in d.rows.note
    assert (d.rows.added, d.rows.removed) == (added, removed)


def test_identical_outputs_have_no_changes(pair: tuple[Path, Path]) -> None:
    old, _ = pair
    d = diff_paths(old, old, ["id"])
    assert d.unchanged and d.rows.changed == 0 and d.rows.sample_changed == []


def test_columns_named_like_diff_internals(tmp_path: Path) -> None:
    """Output columns are identifiers; the diff's own columns are not, so none clash."""
    other = "0 as dj, 1 as row_hash, 2 as is_removed, 3 as changed"
    old = _write(tmp_path / "a.parquet", f"select i as is_added, i as rh, {other} from range(5) t(i)")
    new = _write(tmp_path / "b.parquet", f"select i as is_added, i * 2 as rh, {other} from range(1, 6) t(i)")
    d = diff_paths(old, new, ["is_added"])
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (1, 1, 4)
    assert d.rows.changed_columns == {"rh": 4}


def test_same_rows_in_other_bytes_go_through_the_join(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """Rewritten in another row order and row-group size: other bytes, the same rows."""
    old, _ = pair
    copy = _write(tmp_path / "copy.parquet", f"select * from read_parquet('{old}') order by id desc")
    assert copy.read_bytes() != old.read_bytes()
    d = diff_paths(old, copy, ["id"])
    assert d.unchanged and d.rows.key == ("id",) and d.rows.changed == 0 and d.rows.changed_columns == {}


def test_a_key_repeated_only_among_unmatched_rows_is_not_unique(tmp_path: Path) -> None:
    old = _write(tmp_path / "a.parquet", "select * from (values (1, 'x'), (2, 'y')) t(id, v)")
    new = _write(tmp_path / "b.parquet", "select * from (values (1, 'x'), (3, 'z'), (3, 'z')) t(id, v)")
    d = diff_paths(old, new, ["id"])
    assert d.rows.key is None and d.rows.note is not None and "not unique" in d.rows.note
    assert (d.rows.added, d.rows.removed) == (2, 1)


def test_a_table_without_value_columns(tmp_path: Path) -> None:
    old = _write(tmp_path / "a.parquet", "select * from (values (1), (2), (3)) t(id)")
    new = _write(tmp_path / "b.parquet", "select * from (values (2), (3), (4), (null)) t(id)")
    d = diff_paths(old, new, ["id"])
    assert (d.rows.added, d.rows.removed, d.rows.changed) == (2, 1, 0)
    assert d.rows.sample_added == [{"id": 4}, {"id": None}] and d.rows.sample_removed == [{"id": 1}]


def test_widened_numbers_compare_as_numbers(tmp_path: Path) -> None:
    """DECIMAL(5,2) -> DECIMAL(6,3) and INTEGER -> BIGINT hold the same values: unchanged, with
    the real changes counted; DECIMAL(38,2) -> DECIMAL(38,10) has no exact common type: text."""
    old = _write(
        tmp_path / "a.parquet",
        "select i as id, (i * 0.25)::decimal(5,2) as d, i::integer as n, (i * 0.5)::decimal(38,2) as w"
        " from range(100) t(i)",
    )
    new = _write(
        tmp_path / "b.parquet",
        "select i as id, (case when i = 7 then 0 else i * 0.25 end)::decimal(6,3) as d,"
        " (case when i = 9 then -1 else i end)::bigint as n, (i * 0.5)::decimal(38,10) as w"
        " from range(100) t(i)",
    )
    d = diff_paths(old, new, ["id"])
    assert {c.name for c in d.schema} == {"d", "n", "w"}
    # w's values print differently as text (0.50 vs 0.5000000000): every row changes there.
    assert d.rows.changed_columns == {"d": 1, "n": 1, "w": 100}
    assert d.rows.sample_changed[7] == {
        "id": 7,
        "changed": ["d", "w"],
        "old": {"d": Decimal("1.75"), "w": Decimal("3.50")},
        "new": {"d": Decimal("0.000"), "w": Decimal("3.5000000000")},
    }


def test_a_low_cardinality_key_does_not_pair_every_row(tmp_path: Path) -> None:
    """2 key values over 200k rows: joined, 2 x 100k x 100k pairs; caught before the join."""
    old = _write(tmp_path / "a.parquet", "select i % 2 as k, i as v from range(200000) t(i)")
    new = _write(tmp_path / "b.parquet", "select i % 2 as k, i as v from range(1, 200001) t(i)")
    d = diff_paths(old, new, ["k"])
    assert d.rows.key is None and d.rows.note is not None and "not unique" in d.rows.note
    assert (d.rows.added, d.rows.removed) == (1, 1)


def test_a_heavy_hitter_key_is_caught_before_the_join(tmp_path: Path) -> None:
    """One key value on 3,000 rows of each side, the other 997,000 distinct: HyperLogLog sees
    ~98% distinct keys (the old guard wanted 90%), the join would emit 9M pairs for that value;
    the sampled guard (10% of 1M rows) sees the repeat, the diff goes straight to multisets."""
    n = 1_000_000
    rows = "select case when i < 3000 then -1 else i end as id, i % 7 as v"
    rows += f" from range({{lo}}, {n} + {{lo}}) t(i)"
    old = _write(tmp_path / "a.parquet", rows.format(lo=0))
    new = _write(tmp_path / "b.parquet", rows.format(lo=10))
    con = duckdb.connect()
    con.execute(f"create view new_v as select * from read_parquet('{new}')")
    assert con.execute("select approx_count_distinct(id) from new_v").fetchall()[0][0] > 0.9 * n
    assert _repeated_in_sample(con, ["id"], n)
    con.execute(f"create or replace view new_v as select * from read_parquet('{old}') where id >= 0")
    assert not _repeated_in_sample(con, ["id"], n - 3000)  # unique keys never repeat in a sample
    con.close()
    d = diff_paths(old, new, ["id"])
    assert d.rows.key is None and d.rows.note is not None and "not unique" in d.rows.note
    # Exact: ten rows of the repeated key (i < 10) removed, ten new ids (i >= 1M) added.
    assert (d.rows.added, d.rows.removed) == (10, 10)


@pytest.mark.parametrize(
    ("old_rows", "new_rows", "added", "removed"),
    [
        ("(1, 'x'), (1, 'x'), (2, 'y')", "(1, 'x'), (2, 'y'), (2, 'y')", 1, 1),  # not one to one
        ("(1, 'x'), (1, 'x'), (2, 'y')", "(2, 'y'), (3, 'z'), (3, 'z')", 2, 2),  # repeats unmatched
        ("(1, 'x'), (2, 'y')", "(2, 'y'), (3, 'z')", 1, 1),  # one to one: the join's answer
    ],
)
def test_the_multiset_join_is_exact_without_the_sampled_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old_rows: str, new_rows: str, added: int, removed: int
) -> None:
    """Repeated rows that the sample missed: the pair count sends them to the aggregation."""
    from datacody_dagster.versioning import diff

    old = _write(tmp_path / "a.parquet", f"select * from (values {old_rows}) t(id, v)")
    new = _write(tmp_path / "b.parquet", f"select * from (values {new_rows}) t(id, v)")
    monkeypatch.setattr(diff, "_repeated_in_sample", lambda *a, **k: False)
    d = diff_paths(old, new)
    assert (d.rows.added, d.rows.removed) == (added, removed)
