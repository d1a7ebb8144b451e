"""What changed between two versions of an output: schema, row count, and rows by key.

DuckDB reads both versions straight from the DVC cache (a folder version through a temp tree of
symlinks, so hive partition columns keep their folder names).
"""

from __future__ import annotations

import filecmp
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from datacody_dagster.versioning.cache import version_files
from datacody_dagster.versioning.key_ranges import Range, key_pieces, range_filter

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


_INTEGER_DIGITS = {
    **dict.fromkeys(("TINYINT", "UTINYINT"), 3),
    **dict.fromkeys(("SMALLINT", "USMALLINT"), 5),
    **dict.fromkeys(("INTEGER", "UINTEGER"), 10),
    "BIGINT": 19,
    "UBIGINT": 20,
    **dict.fromkeys(("HUGEINT", "UHUGEINT"), 39),
}


def _digits(sql_type: str) -> tuple[int, int] | None:
    """(integer digits, scale) of an exact numeric type; None for any other type."""
    if sql_type in _INTEGER_DIGITS:
        return _INTEGER_DIGITS[sql_type], 0
    if sql_type.startswith("DECIMAL(") and sql_type.endswith(")"):
        width, scale = (int(x) for x in sql_type[len("DECIMAL(") : -1].split(","))
        return width - scale, scale
    return None


def _comparable_types(
    con: Any, old: dict[str, str], new: dict[str, str], retyped: set[str]
) -> dict[str, str]:
    """The type each retyped column is compared in: a widened exact number (``DECIMAL(22,2)`` to
    ``DECIMAL(23,2)``, ``INTEGER`` to ``BIGINT``) in DuckDB's common type when that holds both
    exactly, anything else as text (the two types cannot be compared directly)."""
    out = {}
    for c in retyped:
        a, b = _digits(old[c]), _digits(new[c])
        out[c] = "VARCHAR"
        if a is None or b is None:
            continue
        common = con.execute(
            f"select typeof(x) from (select null::{old[c]} as x union all select null::{new[c]}) limit 1"
        ).fetchall()[0][0]
        held = _digits(common)
        if held and held[0] >= max(a[0], b[0]) and held[1] >= max(a[1], b[1]):
            out[c] = common
    return out


def _value(c: str, casts: dict[str, str], alias: str = "") -> str:
    ref = f"{alias}{_q(c)}"
    return f"{ref}::{casts[c]}" if c in casts else ref


# The duplicate-key guard reads a sample of about this many rows of the new side's key.
GUARD_SAMPLE_ROWS = 100_000


def _repeated_in_sample(con: Any, key: Sequence[str], rows: int, *, exprs: str | None = None) -> bool:
    """Whether a key value occurs twice in a sample of the new side (``new_v``): then the key is
    certainly not unique there, and the join is not tried.

    A key repeated on both sides makes the join emit every pair (a key repeated 100k times on
    each side: 10^10 pairs), and a HyperLogLog estimate misses it when the rest is distinct. A
    sample drawn without replacement holds a unique key at most once; it holds two copies of a
    repeated one with a probability that grows with the square of its count: with a fraction
    ``p`` of the rows sampled, the expected number of sampled duplicate pairs is ``p^2`` times
    the pairs of duplicates: a key repeated 3,000 times in 10M rows (p = 1%) gives ~30 sampled
    copies, ~450 sampled pairs (missed with probability ~3x10^-12). All rows up to
    ``GUARD_SAMPLE_ROWS`` (exact), then p = max(1%, that / rows): ~0.12x a scan at 10M rows. One
    side suffices: a join explodes only when a key repeats on both sides. A key that the sample
    misses is still caught exactly after the join. ``exprs``: one SQL expression grouped instead
    of the key columns (the multiset diff's row hash).
    """
    if rows == 0:
        return False
    percent = max(1.0, min(100.0, 100.0 * GUARD_SAMPLE_ROWS / rows))
    cols = f"{exprs} as {_q('datacody:g')}" if exprs else ", ".join(_q(k) for k in key)
    # Row by row (BERNOULLI): SYSTEM samples whole vectors of 2,048 rows, and a repeated key whose
    # copies sit together in a few vectors would be missed wholesale (measured: 3,000 copies in
    # two vectors, not seen at 10%).
    sample = "" if percent >= 100 else f" using sample {percent:.4f}% (bernoulli, 42)"
    found = con.execute(
        f"select *, count(*) from (select {cols} from new_v{sample}) group by all having count(*) > 1 limit 1"
    ).fetchall()
    return bool(found)


def _keyed(
    con: Any,
    key: Sequence[str],
    values: list[str],
    retyped: dict[str, str],
    old_rows: int,
    new_rows: int,
    pieces: list[Range] | None = None,
) -> RowChanges | None:
    """Rows matched by key; None when the key is not unique on a side.

    Each side is read once into its key and 64-bit hashes of its values; one full outer join on
    the key feeds one aggregate: rows added and removed, the matched pairs (to detect a
    duplicated key), the unmatched keys and the keys of the changed rows. Equal values always
    hash alike, so a row is counted as changed only when it changed; a change goes uncounted
    only when the old and new values hash alike (about 1 in 10^19). Two ways, by what measured
    cheaper at 10M rows:

    - ``pieces`` (ranges of a single integer key, both files ordered by it): the ranges are
      joined one after the other, with one hash per value column; the changed rows' list holds
      which columns differ, and only the sample rows are read back by key (2.3x a scan against
      2.75x for the other way).
    - otherwise one join carrying one hash per row (a wide join of keys in random order costs
      cache misses); the changed rows (~1%) are read back by key and compared exactly column by
      column for the per-column counts and the sample (3.1x against 3.7x).
    """
    if _repeated_in_sample(con, key, new_rows):
        return None
    wide = pieces is not None
    exprs = [_value(c, retyped) for c in values]
    if wide:  # one hash per value column
        hashes = [_q(f"datacody:h{i}") for i in range(len(values))]
        hashed = [f"hash({e}) as {h}" for e, h in zip(exprs, hashes, strict=True)]
    else:  # one hash per row
        hashes = [_q("datacody:h")]
        hashed = [f"hash({', '.join(exprs) or 'true'}) as {hashes[0]}"]
    # A side's first hash is NULL exactly where the outer join found no row on that side.
    marker = hashes[0] if hashed else _q("datacody:present")
    cols = ", ".join([*(_q(k) for k in key), *(hashed or [f"true as {marker}"])])
    on = " and ".join(f"o.{_q(k)} is not distinct from n.{_q(k)}" for k in key)
    differs = [f"o.{h} <> n.{h}" for h in hashes] if hashed else []
    changed = " or ".join(differs) or "false"
    added, removed = f"o.{marker} is null", f"n.{marker} is null"
    both = f"o.{marker} is not null and n.{marker} is not null"
    new_key = "row(" + ", ".join(f"n.{_q(k)}" for k in key) + ")"
    old_key = "row(" + ", ".join(f"o.{_q(k)}" for k in key) + ")"
    flags = "".join(f", {_q(f'c{i}')} := {d}" for i, d in enumerate(differs))
    listed = f"struct_pack(k := {new_key}{flags})" if wide else new_key
    agg = _q("datacody:agg")
    # The unmatched keys are kept as lists (cheap: a count(distinct) here would cost a scan):
    # a key repeated among them is found afterwards, on those rows only. One row per piece of
    # the key's range (key_ranges.py), then summed into one.
    parts = _q("datacody:parts")
    for i, piece in enumerate(pieces or [(None, None)]):
        where = range_filter(_q(key[0]), piece) if pieces else "true"
        con.execute(
            f"{'insert into' if i else 'create or replace temp table'} {parts} {'' if i else 'as '}select "
            f"count(*) filter (where {added}) as a, count(*) filter (where {removed}) as r, "
            f"count(*) filter (where {both}) as p, "
            f"list({new_key}) filter (where {added}) as ak, list({old_key}) filter (where {removed}) as rk, "
            f"list({listed}) filter (where {changed}) as ck "
            f"from (select {cols} from new_v where {where}) n "
            f"full outer join (select {cols} from old_v where {where}) o on {on}"
        )
    con.execute(
        f"create or replace temp table {agg} as select sum(a) as a, sum(r) as r, sum(p) as p, "
        f"flatten(list(ak)) as ak, flatten(list(rk)) as rk, flatten(list(ck)) as ck from {parts}"
    )
    row = con.execute(
        f"select a, r, p, coalesce(len(ck), 0), "
        f"(select count(distinct k) from (select unnest(ak) as k from {agg})), "
        f"(select count(distinct k) from (select unnest(rk) as k from {agg})), "
        f"list_slice(list_sort(ak), 1, {SAMPLE_ROWS}), list_slice(list_sort(rk), 1, {SAMPLE_ROWS}) "
        f"from {agg}"
    ).fetchall()[0]
    n_added, n_removed, pairs, flagged, added_keys, removed_keys = (int(x or 0) for x in row[:6])
    # Unique keys on both sides <=> each matched key pairs one row with one row (the pair count
    # equals both sides' matched row counts) and no key repeats among the unmatched ones.
    if pairs + n_removed != old_rows or pairs + n_added != new_rows:
        return None
    if added_keys != n_added or removed_keys != n_removed:
        return None
    if not flagged:
        n_changed, per_column, sample = 0, {}, []
    elif wide:
        n_changed, sample = flagged, _changed_rows(con, key, values, retyped, agg, SAMPLE_ROWS)[2]
        per_column = {c: n for c, n in zip(values, _flag_counts(con, agg, len(values)), strict=True) if n}
    else:
        n_changed, per_column, sample = _changed_rows(con, key, values, retyped, agg, None)
    return RowChanges(
        added=n_added,
        removed=n_removed,
        changed=n_changed,
        key=tuple(key),
        changed_columns=per_column,
        sample_added=[_key_dict(key, k) for k in row[6] or []],
        sample_removed=[_key_dict(key, k) for k in row[7] or []],
        sample_changed=sample,
    )


def _key_dict(key: Sequence[str], packed: Any) -> dict[str, Any]:
    """A key as a dict; ``row(...)`` comes back from DuckDB as a tuple (or a dict when named)."""
    parts = list(packed.values()) if isinstance(packed, dict) else list(packed)
    return dict(zip(key, parts, strict=True))


def _flag_counts(con: Any, agg: str, n: int) -> list[int]:
    """Per value column, how many of the changed rows' list (``ck``) flag it."""
    sql = ", ".join(
        f"(select count(*) from (select unnest(ck) as x from {agg}) where x.{_q(f'c{i}')})" for i in range(n)
    )
    return [int(x) for x in con.execute(f"select {sql}").fetchall()[0]] if n else []


def _changed_rows(
    con: Any, key: Sequence[str], values: list[str], retyped: dict[str, str], agg: str, first: int | None
) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
    """The rows whose hashes differ (the ``first`` of them by key from the wide join's flagged
    list, or all from the narrow join's list of keys), read back by key from
    both sides and compared exactly: how many changed, the changed count per column, and a sample
    (the key, the changed columns, their old and new values). The keys stay in DuckDB (the
    ``ck`` list of the aggregate table ``agg``): sent back from Python, a key of mixed types
    (INTEGER, DATE) would be bound as a list of one element type and fail or change type."""
    keys, pairs = _q("datacody:keys"), _q("datacody:pairs")
    names = ", ".join(f"struct_extract(k, {i + 1}) as {_q(k)}" for i, k in enumerate(key))
    listed = "ck"
    if first is not None:
        listed = f"list_slice(list_sort(list_transform(ck, lambda x: x.k)), 1, {first})"
    listed = f"(select unnest({listed}) as k from {agg})"
    con.execute(f"create or replace temp table {keys} as select {names} from {listed}")
    semi = " and ".join(f"v.{_q(k)} is not distinct from s.{_q(k)}" for k in key)
    picked = ", ".join([*(f"v.{_q(k)}" for k in key), *(f"v.{_q(c)}" for c in values)])
    on = " and ".join(f"o.{_q(k)} is not distinct from n.{_q(k)}" for k in key)
    sides = "".join(f", o.{_q(c)} as {_q('old:' + c)}, n.{_q(c)} as {_q('new:' + c)}" for c in values)
    flags = [_q(f"changed:{c}") for c in values]
    flag_sql = "".join(
        f", ({_value(c, retyped, 'o.')} is distinct from {_value(c, retyped, 'n.')}) as {f}"
        for c, f in zip(values, flags, strict=True)
    )
    new_keys = ", ".join(f"n.{_q(k)}" for k in key)
    con.execute(
        f"create or replace temp table {pairs} as select {new_keys}{sides}{flag_sql} "
        f"from (select {picked} from old_v v semi join {keys} s on {semi}) o "
        f"join (select {picked} from new_v v semi join {keys} s on {semi}) n on {on}"
    )
    some = " or ".join(flags)
    counts = con.execute(
        f"select count(*) filter (where {some}){''.join(f', count(*) filter (where {f})' for f in flags)} "
        f"from {pairs}"
    ).fetchall()[0]
    per_column = {c: int(n) for c, n in zip(values, counts[1:], strict=True) if n}
    order = ", ".join(_q(k) for k in key)
    out = []
    for r in _rows(con, f"select * from {pairs} where {some} order by {order} limit {SAMPLE_ROWS}"):
        changed = [c for c in values if r["changed:" + c]]
        entry: dict[str, Any] = {name: r[name] for name in key}
        entry["changed"] = changed
        entry["old"] = {c: r["old:" + c] for c in changed}
        entry["new"] = {c: r["new:" + c] for c in changed}
        out.append(entry)
    return int(counts[0]), per_column, out


def _unkeyed(
    con: Any, common: list[str], retyped: dict[str, str], old_rows: int, new_rows: int
) -> RowChanges:
    """A diff of row multisets by 64-bit row hashes.

    First a full outer join on the row hash (1.46x a scan at 10M rows): exact when every hash
    that meets one on the other side meets exactly one (the pair count shows it), which holds
    for outputs without repeated rows. A row repeated on both sides would make the join emit
    every pair, so a sample of the new side's row hashes (as for keys, ~0.5x a scan: every
    column is read) is looked at first; rows repeated in it, or pairs that are not one to one,
    take the aggregation of both sides' hashes (3.8x a scan: a ``GROUP BY`` of 20M hashes),
    which is exact for any multiset.
    """
    parts = ", ".join(_value(c, retyped) for c in common) or "1"
    h = _q("datacody:h")
    if not _repeated_in_sample(con, (), new_rows, exprs=f"hash({parts})"):
        row = con.execute(
            f"select count(*) filter (where o.{h} is null), count(*) filter (where n.{h} is null), "
            f"count(*) filter (where o.{h} is not null and n.{h} is not null) "
            f"from (select hash({parts}) as {h} from new_v) n "
            f"full outer join (select hash({parts}) as {h} from old_v) o on o.{h} = n.{h}"
        ).fetchall()[0]
        added, removed, pairs = (int(x or 0) for x in row)
        if pairs + removed == old_rows and pairs + added == new_rows:
            return RowChanges(added=added, removed=removed, changed=None, key=None)
    row = con.execute(
        "select coalesce(sum(d) filter (where d > 0), 0), coalesce(-sum(d) filter (where d < 0), 0) "
        f"from (select h, sum(s) as d from (select hash({parts}) as h, -1 as s from old_v "
        f"union all select hash({parts}) as h, 1 as s from new_v) group by h)"
    ).fetchall()[0]
    return RowChanges(added=int(row[0]), removed=int(row[1]), changed=None, key=None)


def diff_relations(
    old_relation: str,
    new_relation: str,
    key: Sequence[str] | None = None,
    *,
    same_bytes: bool = False,
    files: tuple[Sequence[Path], Sequence[Path]] | None = None,
) -> tuple[int, int, list[ColumnChange], RowChanges]:
    """Compare two DuckDB relations (``read_parquet(...)``): row counts, schema and row changes.

    With a usable ``key`` (present on both sides, same type) rows are matched by key and changed
    rows are counted per column; otherwise row multisets are compared. ``same_bytes`` (the
    caller knows both hold the same bytes) skips reading the rows: nothing changed. ``files``:
    the Parquet files behind the old and new relation, whose statistics may split the join.
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = false")  # results are ordered explicitly
        con.execute("set enable_progress_bar = false")
        con.execute(f"create temp view old_v as select * from {old_relation}")
        con.execute(f"create temp view new_v as select * from {new_relation}")
        old_schema, new_schema = _schema(con, "old_v"), _schema(con, "new_v")
        old_rows = _scalar(con, "select count(*) from old_v")
        new_rows = _scalar(con, "select count(*) from new_v")
        common = [c for c in old_schema if c in new_schema]
        retyped = _comparable_types(
            con, old_schema, new_schema, {c for c in common if old_schema[c] != new_schema[c]}
        )
        usable_key = list(key or ())
        usable = bool(usable_key) and all(k in common and k not in retyped for k in usable_key)
        if same_bytes:
            rows = RowChanges(0, 0, 0 if usable else None, tuple(usable_key) if usable else None)
        elif usable:
            values = [c for c in common if c not in usable_key]
            pieces = None
            if files and len(usable_key) == 1:
                k = usable_key[0]
                pieces = key_pieces(con, k, new_schema[k], files[0], files[1])
            keyed = _keyed(con, usable_key, values, retyped, old_rows, new_rows, pieces)
            note = f"key ({', '.join(usable_key)}) is not unique: rows compared as multisets"
            rows = keyed or replace(_unkeyed(con, common, retyped, old_rows, new_rows), note=note)
        else:
            rows = _unkeyed(con, common, retyped, old_rows, new_rows)
    finally:
        con.close()
    return old_rows, new_rows, _schema_changes(old_schema, new_schema), rows


def path_relation(path: Path) -> str:
    """DuckDB SQL reading an output: a Parquet file, or a folder of (hive-partitioned) files."""
    if path.is_dir():
        glob = _lit(str(path) + "/**/*.parquet")
        return f"read_parquet({glob}, hive_partitioning=true, union_by_name=true)"
    return f"read_parquet({_lit(str(path))})"


def _same_file_bytes(old: Path, new: Path) -> bool:
    """Whether two output files hold the same bytes (a rebuild that wrote the same data): sizes
    first, then the bytes until the first difference; folders are not compared."""
    if not (old.is_file() and new.is_file()):
        return False
    if old.resolve() == new.resolve():
        return True
    if old.stat().st_size != new.stat().st_size:
        return False
    return filecmp.cmp(old, new, shallow=False)


def diff_paths(old: Path, new: Path, key: Sequence[str] | None = None) -> VersionDiff:
    """Compare two outputs on disk (e.g. an environment's output against prod's)."""
    same = _same_file_bytes(old, new)
    files = ([old], [new]) if old.is_file() and new.is_file() else None
    old_rows, new_rows, schema, rows = diff_relations(
        path_relation(old), path_relation(new), key, same_bytes=same, files=files
    )
    return VersionDiff("", "", old_rows, new_rows, schema, rows)  # files on disk: no DVC hashes


def diff_versions(root: Path, old_md5: str, new_md5: str, key: Sequence[str] | None = None) -> VersionDiff:
    """Compare two recorded versions; ``key`` (the asset's unique key) enables changed-row counts."""
    with ExitStack() as stack:
        old_rel = stack.enter_context(_relation(root, old_md5))
        new_rel = stack.enter_context(_relation(root, new_md5))
        same = old_md5 == new_md5  # DVC's content hashes
        files = None
        if not (old_md5.endswith(".dir") or new_md5.endswith(".dir")):
            files = (
                [version_files(root, old_md5)[0].object_path],
                [version_files(root, new_md5)[0].object_path],
            )
        old_rows, new_rows, schema, rows = diff_relations(old_rel, new_rel, key, same_bytes=same, files=files)
    return VersionDiff(
        old_hash=old_md5,
        new_hash=new_md5,
        old_rows=old_rows,
        new_rows=new_rows,
        schema=schema,
        rows=rows,
    )
