"""Parquet footer statistics: row counts, null counts and min/max without reading data.

A statistic is used only when every row group carries it; otherwise the check falls back to a
scan. Floating-point min/max are never trusted, because Parquet writers leave NaN out of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

_ORDERED_PHYSICAL = {"INT32", "INT64"}


@dataclass(frozen=True)
class ColumnStats:
    """Footer statistics of one top-level column, aggregated over all row groups."""

    null_count: int | None
    min: Any = None
    max: Any = None
    physical_type: str = ""
    logical_type: str = ""
    dictionary: bool = False
    """Every row group has a dictionary page: few distinct values per row group (a hint for
    evaluating costly per-value functions once per distinct value, never for a verdict)."""

    @property
    def ordered(self) -> bool:
        """Whether min/max are exact bounds usable for range and key checks."""
        return self.min is not None and self.max is not None and self.physical_type in _ORDERED_PHYSICAL


@dataclass(frozen=True)
class FooterStats:
    num_rows: int
    columns: dict[str, ColumnStats] = field(default_factory=dict)


def read_footer(path: Path) -> FooterStats | None:
    """Statistics of a single Parquet file, or None when it cannot be read."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:
        return None
    columns: dict[str, ColumnStats] = {}
    for j in range(meta.num_columns):
        first = meta.row_group(0).column(j) if meta.num_row_groups else None
        if first is None or "." in first.path_in_schema:
            continue
        nulls: int | None = 0
        lo: Any = None
        hi: Any = None
        bounded = True
        dictionary = True
        for i in range(meta.num_row_groups):
            col = meta.row_group(i).column(j)
            dictionary = dictionary and bool(col.has_dictionary_page)
            st = col.statistics
            if st is None:
                nulls, bounded = None, False
                break
            if nulls is not None:
                nulls = nulls + st.null_count if st.has_null_count else None
            if col.num_values == 0 or st.null_count == col.num_values:
                continue  # an all-null row group has no bounds and needs none
            if not st.has_min_max:
                bounded = False
                continue
            lo = st.min if lo is None or _lt(st.min, lo) else lo
            hi = st.max if hi is None or _lt(hi, st.max) else hi
        logical = str(first.statistics.logical_type) if first.statistics is not None else ""
        columns[first.path_in_schema] = ColumnStats(
            null_count=nulls,
            min=lo if bounded else None,
            max=hi if bounded else None,
            physical_type=first.physical_type,
            logical_type=logical,
            dictionary=dictionary,
        )
    return FooterStats(num_rows=meta.num_rows, columns=columns)


def _lt(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:
        return False


def as_number(value: Any) -> float | None:
    """An int-typed statistic as a number (dates/timestamps are not numbers here)."""
    if isinstance(value, (bool, date, datetime)):
        return None
    if isinstance(value, int):
        return float(value)
    return None
