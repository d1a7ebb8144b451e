"""Key ranges that split a keyed diff's join into pieces, from Parquet row-group statistics.

A hash join of 10M keys against 10M builds one table far larger than the CPU's caches; joined in
key ranges of ~1M rows, each piece's table is smaller and the join costs less (measured on 10M
rows: 2.70x a scan in one piece, 2.32x in ten). That pays only when a key range maps to a few row
groups of each file, which Parquet's min/max statistics prove: the key is an integer without
NULLs and each file's row groups hold disjoint key ranges (a file written ordered by the key, in
either direction). Otherwise every piece would read every row group again: one piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
# Rows of the old side per piece: 1M measured faster than 10M in one (2.32x vs 2.70x a scan)
# and than ~120k (3.26x: each piece's fixed cost and the row groups read by two pieces).
PIECE_ROWS = 1_000_000

Range = tuple[int | None, int | None]  # [low, high): None is unbounded


def _row_groups(con: Any, files: Sequence[Path], column: str) -> list[tuple[int, int, int]] | None:
    """(min, max, rows) of the column per row group of the files; None when any row group has
    NULLs in it or no statistics."""
    if not files:
        return None
    paths = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    rows = con.execute(
        "select stats_min_value, stats_max_value, stats_null_count, row_group_num_rows "
        f"from parquet_metadata({paths}) where path_in_schema = ?",
        [column],
    ).fetchall()
    groups = []
    for low, high, nulls, count in rows:
        if low is None or high is None or nulls is None or nulls > 0:
            return None
        groups.append((int(low), int(high), int(count)))
    return sorted(groups) if groups else None


def _disjoint(groups: list[tuple[int, int, int]]) -> bool:
    return all(a[1] < b[0] for a, b in pairwise(groups))


def key_pieces(
    con: Any,
    column: str,
    sql_type: str,
    old_files: Sequence[Path],
    new_files: Sequence[Path],
    piece_rows: int = PIECE_ROWS,
) -> list[Range] | None:
    """Key ranges that cover every integer (so every row of either side falls in exactly one)
    with about ``piece_rows`` old rows each, cut at the old file's row-group boundaries; None
    when one piece is best (a small table, a key that is not an integer, NULL keys, row groups
    whose key ranges overlap, files without statistics)."""
    if sql_type not in INTEGER_TYPES:
        return None
    old = _row_groups(con, old_files, column)
    new = _row_groups(con, new_files, column)
    if old is None or new is None or not (_disjoint(old) and _disjoint(new)):
        return None
    if sum(g[2] for g in old) < 2 * piece_rows:
        return None
    cuts, rows = [], 0
    for low, _, count in old:
        if rows >= piece_rows:
            cuts.append(low)
            rows = 0
        rows += count
    bounds: list[int | None] = [None, *cuts, None]
    return list(pairwise(bounds))


def range_filter(column_sql: str, piece: Range) -> str:
    """SQL predicate for ``column_sql`` within the half-open ``piece``."""
    low, high = piece
    parts = [
        f"{column_sql} >= {low}" if low is not None else "",
        f"{column_sql} < {high}" if high is not None else "",
    ]
    return " and ".join(p for p in parts if p) or "true"
