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
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _schema_changes(old: dict[str, str], new: dict[str, str]) -> list[ColumnChange]:
    changes = [ColumnChange(c, t, None) for c, t in old.items() if c not in new]
    changes += [ColumnChange(c, None, t) for c, t in new.items() if c not in old]
    changes += [ColumnChange(c, t, new[c]) for c, t in old.items() if c in new and new[c] != t]
    return changes


def _keyed(con: Any, key: Sequence[str], values: list[str], retyped: set[str]) -> RowChanges:
    on = " and ".join(f"o.{_q(k)} is not distinct from n.{_q(k)}" for k in key)
    keys_o = ", ".join(f"o.{_q(k)}" for k in key)
    keys_n = ", ".join(f"n.{_q(k)}" for k in key)

    def differs(c: str) -> str:
        if c in retyped:  # compare as text: the types cannot be compared directly
            return f"(o.{_q(c)}::varchar is distinct from n.{_q(c)}::varchar)"
        return f"(o.{_q(c)} is distinct from n.{_q(c)})"

    order_o = f"order by {keys_o} limit {SAMPLE_ROWS}"
    order_n = f"order by {keys_n} limit {SAMPLE_ROWS}"
    any_diff = " or ".join(differs(c) for c in values) or "false"
    added = _scalar(con, f"select count(*) from new_v n anti join old_v o on {on}")
    removed = _scalar(con, f"select count(*) from old_v o anti join new_v n on {on}")
    per_col = "".join(f", sum({differs(c)}::int) as {_q(c)}" for c in values)
    counts = con.execute(
        f"select count(*){per_col} from old_v o join new_v n on {on} where {any_diff}"
    ).fetchone()
    assert counts is not None
    changed_columns = {c: int(counts[i + 1] or 0) for i, c in enumerate(values) if counts[i + 1]}
    flags = ", ".join(f"{differs(c)} as {_q('changed:' + c)}" for c in values)
    sample_changed = []
    for row in _rows(
        con,
        f"select {keys_o}{', ' + flags if flags else ''} from old_v o join new_v n on {on} "
        f"where {any_diff} {order_o}",
    ):
        keys = {k: row[k] for k in key}
        keys["changed"] = [c for c in values if row.get("changed:" + c)]
        sample_changed.append(keys)
    return RowChanges(
        added=added,
        removed=removed,
        changed=int(counts[0]),
        key=tuple(key),
        changed_columns=changed_columns,
        sample_added=_rows(con, f"select {keys_n} from new_v n anti join old_v o on {on} {order_n}"),
        sample_removed=_rows(con, f"select {keys_o} from old_v o anti join new_v n on {on} {order_o}"),
        sample_changed=sample_changed,
    )


def _unkeyed(con: Any, common: list[str], retyped: set[str]) -> RowChanges:
    cols = ", ".join(f"{_q(c)}::varchar" if c in retyped else _q(c) for c in common) or "1"
    added = _scalar(
        con, f"select count(*) from (select {cols} from new_v except all select {cols} from old_v)"
    )
    removed = _scalar(
        con, f"select count(*) from (select {cols} from old_v except all select {cols} from new_v)"
    )
    return RowChanges(added=added, removed=removed, changed=None, key=None)


def diff_versions(root: Path, old_md5: str, new_md5: str, key: Sequence[str] | None = None) -> VersionDiff:
    """Compare two recorded versions; ``key`` (the asset's unique key) enables changed-row counts."""
    import duckdb

    con = duckdb.connect()
    try:
        with ExitStack() as stack:
            old_rel = stack.enter_context(_relation(root, old_md5))
            new_rel = stack.enter_context(_relation(root, new_md5))
            con.execute(f"create temp view old_v as select * from {old_rel}")
            con.execute(f"create temp view new_v as select * from {new_rel}")
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
    return VersionDiff(
        old_hash=old_md5,
        new_hash=new_md5,
        old_rows=int(old_rows),
        new_rows=int(new_rows),
        schema=_schema_changes(old_schema, new_schema),
        rows=rows,
    )
