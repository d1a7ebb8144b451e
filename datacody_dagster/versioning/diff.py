"""What changed between two versions of an output: schema, row count, and rows by key.

DuckDB reads both versions straight from the DVC cache (a folder version through a temp tree of
symlinks, so hive partition columns keep their folder names).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacody_dagster.versioning.cache import version_files

SAMPLE_ROWS = 10


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


def _hash(c: str, retyped: set[str]) -> str:
    # Retyped columns compare as text: the two types cannot be compared directly.
    return f"hash({_q(c)}::varchar)" if c in retyped else f"hash({_q(c)})"


def _keyed(con: Any, key: Sequence[str], values: list[str], retyped: set[str]) -> RowChanges:
    """One read of each side as (key, per-column hash), one full outer join keeping only the
    rows that differ; counts and samples come from that small result.

    64-bit hashes stand for the values, so a changed value is missed only on a hash collision
    (about 1 in 10^19 per compared cell).
    """
    keys = ", ".join(_q(k) for k in key)
    hashes = "".join(f", {_hash(c, retyped)} as h{i}" for i, c in enumerate(values))
    on = " and ".join(f"o.{_q(k)} is not distinct from n.{_q(k)}" for k in key)
    differs = [f"(o.h{i} <> n.h{i})" for i in range(len(values))]
    any_diff = " or ".join(differs) or "false"
    key_cols = ", ".join(f"coalesce(o.{_q(k)}, n.{_q(k)}) as {_q(k)}" for k in key)
    flags = "".join(f", coalesce({d}, false) as f{i}" for i, d in enumerate(differs))
    con.execute(
        f"create or replace temp table dj as select {key_cols}, o.p is null as is_added, "
        f"n.p is null as is_removed{flags} "
        f"from (select {keys}{hashes}, true as p from old_v) o "
        f"full outer join (select {keys}{hashes}, true as p from new_v) n on {on} "
        f"where o.p is null or n.p is null or {any_diff}"
    )
    per_col = "".join(f", count(*) filter (where f{i})" for i in range(len(values)))
    counts = con.execute(
        "select count(*) filter (where is_added), count(*) filter (where is_removed), "
        f"count(*) filter (where not is_added and not is_removed){per_col} from dj"
    ).fetchall()[0]
    changed_columns = {c: int(counts[i + 3]) for i, c in enumerate(values) if counts[i + 3]}
    page = f"order by {keys} limit {SAMPLE_ROWS}"
    names = "".join(f", f{i} as {_q('changed:' + c)}" for i, c in enumerate(values))
    con.execute(
        f"create or replace temp table sk as select {keys}{names} from dj "
        f"where not is_added and not is_removed {page}"
    )
    changed_rows = _rows(con, f"select * from sk order by {keys}")
    return RowChanges(
        added=int(counts[0]),
        removed=int(counts[1]),
        changed=int(counts[2]),
        key=tuple(key),
        changed_columns=changed_columns,
        sample_added=_rows(con, f"select {keys} from dj where is_added {page}"),
        sample_removed=_rows(con, f"select {keys} from dj where is_removed {page}"),
        sample_changed=_side_by_side(con, key, values, changed_rows),
    )


def _side_by_side(
    con: Any, key: Sequence[str], values: list[str], changed_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each sampled changed row: its key, the changed columns, their old and new values."""
    if not changed_rows:
        return []
    cols = sorted({c for row in changed_rows for c in values if row.get("changed:" + c)})
    keys = ", ".join(_q(k) for k in key)
    picked = ", ".join(_q(c) for c in cols)
    on = " and ".join(f"v.{_q(k)} is not distinct from sk.{_q(k)}" for k in key)
    sides = {}
    for side in ("old_v", "new_v"):
        fetched = _rows(con, f"select {keys}, {picked} from {side} v semi join sk on {on}")
        sides[side] = {tuple(r[k] for k in key): r for r in fetched}
    out = []
    for row in changed_rows:
        k = tuple(row[name] for name in key)
        changed = [c for c in values if row.get("changed:" + c)]
        old, new = sides["old_v"].get(k, {}), sides["new_v"].get(k, {})
        entry = {name: row[name] for name in key}
        entry["changed"] = changed
        entry["old"] = {c: old.get(c) for c in changed}
        entry["new"] = {c: new.get(c) for c in changed}
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
            rows = _keyed(con, usable_key, values, retyped)
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
