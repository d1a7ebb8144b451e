"""What changed between two versions of an output: schema, row count, and rows by key.

DuckDB reads both versions straight from the DVC cache (a folder version through a temp tree of
symlinks, so hive partition columns keep their folder names).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from datacody_dagster.versioning.cache import version_files

SAMPLE_ROWS = 10
# Flag columns of the diff's own tables, named so that no output column (an identifier) clashes.
ADDED, REMOVED = '"datacody:added"', '"datacody:removed"'


@dataclass(frozen=True)
class ColumnChange:
    name: str
    old_type: str | None  # None: added
    new_type: str | None  # None: removed


@dataclass(frozen=True)
class RowChanges:
    added: int
    removed: int
    changed: int | None  # None without a key: a changed row counts as one removed plus one added
    key: tuple[str, ...] | None
    changed_columns: dict[str, int] = field(default_factory=dict)
    sample_added: list[dict[str, Any]] = field(default_factory=list)
    sample_removed: list[dict[str, Any]] = field(default_factory=list)
    sample_changed: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None  # why a requested key was not used


@dataclass(frozen=True)
class VersionDiff:
    old_hash: str
    new_hash: str
    old_rows: int
    new_rows: int
    schema: list[ColumnChange]
    rows: RowChanges

    @property
    def unchanged(self) -> bool:
        r = self.rows
        return not self.schema and r.added == 0 and r.removed == 0 and not r.changed

    def to_json(self) -> dict[str, Any]:
        r = self.rows
        return {
            "old_hash": self.old_hash,
            "new_hash": self.new_hash,
            "row_count": {
                "old": self.old_rows,
                "new": self.new_rows,
                "change": self.new_rows - self.old_rows,
            },
            "schema": [c.__dict__ for c in self.schema],
            "key": list(r.key) if r.key else None,
            "note": r.note,
            "rows": {"added": r.added, "removed": r.removed, "changed": r.changed},
            "changed_columns": r.changed_columns,
            "sample": {"added": r.sample_added, "removed": r.sample_removed, "changed": r.sample_changed},
        }


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def _relation(root: Path, md5: str) -> Iterator[str]:
    files = version_files(root, md5)
    if not md5.endswith(".dir"):
        yield f"read_parquet({_lit(str(files[0].object_path))})"
        return
    parquet = [f for f in files if not f.relpath.startswith(".")]
    with tempfile.TemporaryDirectory(prefix="datacody-diff-") as tmp:
        for f in parquet:
            link = Path(tmp) / f.relpath
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(f.object_path, link)
        hive = any("=" in part for f in parquet for part in Path(f.relpath).parts[:-1])
        paths = "[" + ", ".join(_lit(str(Path(tmp) / f.relpath)) for f in parquet) + "]"
        yield f"read_parquet({paths}, hive_partitioning={str(hive).lower()}, union_by_name=true)"


def _schema(con: Any, relation: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"describe select * from {relation}").fetchall()}


def _scalar(con: Any, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _schema_changes(old: dict[str, str], new: dict[str, str]) -> list[ColumnChange]:
    changes = [ColumnChange(c, t, None) for c, t in old.items() if c not in new]
    changes += [ColumnChange(c, None, t) for c, t in new.items() if c not in old]
    changes += [ColumnChange(c, t, new[c]) for c, t in old.items() if c in new and new[c] != t]
    return changes


def _value(c: str, retyped: set[str], alias: str = "") -> str:
    # Retyped columns compare as text: the two types cannot be compared directly.
    ref = f"{alias}{_q(c)}"
    return f"{ref}::varchar" if c in retyped else ref


def _keyed(
    con: Any, key: Sequence[str], values: list[str], retyped: set[str], old_rows: int, new_rows: int
) -> RowChanges | None:
    """Rows matched by key, in two passes; None when the key is not unique on a side.

    Pass 1 reads each side once, hashes each row's values to one 64-bit number, and joins them
    in one full outer join on the key, keeping only the candidates: keys on one side only, or
    whose row hashes differ (about 1% of 10M rows in ``bench/diff.py``). The old side is the
    narrow build side (key, hash); the new side streams through the probe and the candidates keep
    its values. Pass 2 (only when some row changed) reads the changed candidates' old rows and
    compares the values exactly, column by column, for the per-column counts and the
    side-by-side sample. A changed row goes unnoticed only if its old and new values hash alike
    (about 1 in 10^19 per row).
    """
    keys = ", ".join(_q(k) for k in key)
    row_hash = f"hash({', '.join(_value(c, retyped) for c in values)})" if values else "0::ubigint"
    on = " and ".join(f"o.{_q(k)} is not distinct from n.{_q(k)}" for k in key)
    key_cols = ", ".join(f"coalesce(o.{_q(k)}, n.{_q(k)}) as {_q(k)}" for k in key)
    # The new side streams through the join's probe with all its columns (only the candidates
    # keep them); the old side is the narrow build side.
    new_cols = "".join(f", n.{_q(c)} as {_q('new:' + c)}" for c in values)
    rh = _q("datacody:row_hash")  # not a column name of a spec (identifiers only)
    con.execute(
        f"create or replace temp table dj as select {key_cols}, o.{rh} is null as {ADDED}, "
        f"n.{rh} is null as {REMOVED}{new_cols} "
        f"from (select *, {row_hash} as {rh} from new_v) n "
        f"full outer join (select {keys}, {row_hash} as {rh} from old_v) o on {on} "
        f"where o.{rh} is null or n.{rh} is null or o.{rh} <> n.{rh}"
    )
    # A duplicated key shows up as a repeated candidate, as unequal matched counts, or (when
    # duplicates on both sides offset each other's counts) as unequal sums of matched key hashes.
    counts = con.execute(
        f"select count(*) filter (where {ADDED}), count(*) filter (where {REMOVED}), count(*) from dj"
    ).fetchall()[0]
    added, removed, candidates = int(counts[0]), int(counts[1]), int(counts[2])
    repeated = _scalar(con, f"select count(*) from (select 1 from dj group by {keys} having count(*) > 1)")
    if repeated or old_rows - removed != new_rows - added or not _same_matched_keys(con, keys):
        return None
    changed, changed_columns, sample_changed = 0, {}, []
    if candidates > added + removed:  # no second read when no row changed (an unchanged rebuild)
        _changed_rows(con, key, values, retyped)
        per_col = "".join(f", count(*) filter (where {_q('changed:' + c)})" for c in values)
        totals = con.execute(f"select count(*){per_col} from dc").fetchall()[0]
        changed = int(totals[0])
        changed_columns = {c: int(totals[i + 1]) for i, c in enumerate(values) if totals[i + 1]}
        sample_changed = _side_by_side(con, key, values)
    page = f"order by {keys} limit {SAMPLE_ROWS}"
    return RowChanges(
        added=added,
        removed=removed,
        changed=changed,
        key=tuple(key),
        changed_columns=changed_columns,
        sample_added=_rows(con, f"select {keys} from dj where {ADDED} {page}"),
        sample_removed=_rows(con, f"select {keys} from dj where {REMOVED} {page}"),
        sample_changed=sample_changed,
    )


def _same_matched_keys(con: Any, keys: str) -> bool:
    """Whether the keys matched on each side have the same sum of 64-bit hashes (they do when
    every key is unique on both sides; otherwise they differ but for a 1 in 10^19 coincidence).
    Reads only the key columns."""
    kh = f"hash({keys})::hugeint"
    old_sum, new_sum, removed, added = con.execute(
        f"select (select coalesce(sum({kh}), 0) from old_v), (select coalesce(sum({kh}), 0) from new_v), "
        f"coalesce(sum({kh}) filter (where {REMOVED}), 0), coalesce(sum({kh}) filter (where {ADDED}), 0) "
        "from dj"
    ).fetchall()[0]
    return bool(old_sum - removed == new_sum - added)


def _changed_rows(con: Any, key: Sequence[str], values: list[str], retyped: set[str]) -> None:
    """Table ``dc``: each changed candidate's key, old and new values, and per column whether it
    differs (exact comparison); candidates whose values are all equal are dropped."""
    picked = ", ".join([*(_q(k) for k in key), *(_q(c) for c in values)])
    con.execute(f"create or replace temp table dk as select * from dj where not {ADDED} and not {REMOVED}")
    semi = " and ".join(f"v.{_q(k)} is not distinct from dk.{_q(k)}" for k in key)
    on = " and ".join(f"o.{_q(k)} is not distinct from n.{_q(k)}" for k in key)
    key_cols = ", ".join(f"n.{_q(k)}" for k in key)
    sides = "".join(f", o.{_q(c)} as {_q('old:' + c)}, n.{_q('new:' + c)}" for c in values)
    cast = {c: "::varchar" if c in retyped else "" for c in values}
    differs = [f"(o.{_q(c)}{cast[c]} is distinct from n.{_q('new:' + c)}{cast[c]})" for c in values]
    flags = "".join(f", {d} as {_q('changed:' + c)}" for d, c in zip(differs, values, strict=True))
    con.execute(
        f"create or replace temp table dc as select {key_cols}{sides}{flags} "
        f"from (select {picked} from old_v v semi join dk on {semi}) o "
        f"join dk n on {on} "
        f"where {' or '.join(differs) or 'false'}"
    )


def _side_by_side(con: Any, key: Sequence[str], values: list[str]) -> list[dict[str, Any]]:
    """The first changed rows by key: the key, the changed columns, their old and new values."""
    keys = ", ".join(_q(k) for k in key)
    out = []
    for row in _rows(con, f"select * from dc order by {keys} limit {SAMPLE_ROWS}"):
        changed = [c for c in values if row["changed:" + c]]
        entry: dict[str, Any] = {name: row[name] for name in key}
        entry["changed"] = changed
        entry["old"] = {c: row["old:" + c] for c in changed}
        entry["new"] = {c: row["new:" + c] for c in changed}
        out.append(entry)
    return out


def _unkeyed(con: Any, common: list[str], retyped: set[str]) -> RowChanges:
    """A diff of row multisets by 64-bit row hashes: one read of each side, one aggregation."""
    parts = ", ".join(f"{_q(c)}::varchar" if c in retyped else _q(c) for c in common) or "1"
    row = con.execute(
        "select coalesce(sum(d) filter (where d > 0), 0), coalesce(-sum(d) filter (where d < 0), 0) "
        f"from (select h, sum(s) as d from (select hash({parts}) as h, -1 as s from old_v "
        f"union all select hash({parts}) as h, 1 as s from new_v) group by h)"
    ).fetchall()[0]
    return RowChanges(added=int(row[0]), removed=int(row[1]), changed=None, key=None)


def diff_relations(
    old_relation: str, new_relation: str, key: Sequence[str] | None = None
) -> tuple[int, int, list[ColumnChange], RowChanges]:
    """Compare two DuckDB relations (``read_parquet(...)``): row counts, schema and row changes.

    With a usable ``key`` (present on both sides, same type) rows are matched by key and changed
    rows are counted per column; otherwise row multisets are compared.
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = false")  # results are ordered explicitly
        con.execute(f"create temp view old_v as select * from {old_relation}")
        con.execute(f"create temp view new_v as select * from {new_relation}")
        old_schema, new_schema = _schema(con, "old_v"), _schema(con, "new_v")
        old_rows = _scalar(con, "select count(*) from old_v")
        new_rows = _scalar(con, "select count(*) from new_v")
        common = [c for c in old_schema if c in new_schema]
        retyped = {c for c in common if old_schema[c] != new_schema[c]}
        usable_key = list(key or ())
        if usable_key and all(k in common and k not in retyped for k in usable_key):
            values = [c for c in common if c not in usable_key]
            keyed = _keyed(con, usable_key, values, retyped, old_rows, new_rows)
            note = f"key ({', '.join(usable_key)}) is not unique: rows compared as multisets"
            rows = keyed or replace(_unkeyed(con, common, retyped), note=note)
        else:
            rows = _unkeyed(con, common, retyped)
    finally:
        con.close()
    return old_rows, new_rows, _schema_changes(old_schema, new_schema), rows


def path_relation(path: Path) -> str:
    """DuckDB SQL reading an output: a Parquet file, or a folder of (hive-partitioned) files."""
    if path.is_dir():
        glob = _lit(str(path) + "/**/*.parquet")
        return f"read_parquet({glob}, hive_partitioning=true, union_by_name=true)"
    return f"read_parquet({_lit(str(path))})"


def diff_paths(old: Path, new: Path, key: Sequence[str] | None = None) -> VersionDiff:
    """Compare two outputs on disk (e.g. an environment's output against prod's)."""
    old_rows, new_rows, schema, rows = diff_relations(path_relation(old), path_relation(new), key)
    return VersionDiff("", "", old_rows, new_rows, schema, rows)  # files on disk: no DVC hashes


def diff_versions(root: Path, old_md5: str, new_md5: str, key: Sequence[str] | None = None) -> VersionDiff:
    """Compare two recorded versions; ``key`` (the asset's unique key) enables changed-row counts."""
    with ExitStack() as stack:
        old_rel = stack.enter_context(_relation(root, old_md5))
        new_rel = stack.enter_context(_relation(root, new_md5))
        old_rows, new_rows, schema, rows = diff_relations(old_rel, new_rel, key)
    return VersionDiff(
        old_hash=old_md5,
        new_hash=new_md5,
        old_rows=old_rows,
        new_rows=new_rows,
        schema=schema,
        rows=rows,
    )
