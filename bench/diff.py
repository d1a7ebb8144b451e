"""Row-level diff of two Parquet tables against one plain scan of both.

    .venv/bin/python bench/diff.py [--rows 10000000] [--repeats 3]

Old and new tables of N rows (8 columns); the new one has 1% of rows changed in one or two
columns, 0.1% removed and 0.1% added. The floor reads every column of both tables once
(``max(hash(all columns))``: a ``count(*)`` would be answered from Parquet metadata).
Prints medians and the ratio to the floor; the target is <= 2x for the keyed diff.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from datacody_dagster.versioning.diff import diff_paths

TABLE = """
select i as id,
       'user_' || ((i * 104729) % {n})::varchar as email,
       i % 5000 as customer_id,
       ['placed','shipped','completed','returned'][1 + i % 4] as status,
       (i % 1000) * 0.25 as amount,
       (i % 90)::integer as qty,
       date '2024-01-01' + (i % 365)::integer as day,
       'AB-' || lpad((i % 1000)::varchar, 3, '0') as code
from range({start}, {stop}) t(i)
"""
CHANGED = """
select id, email, customer_id,
       case when id % 100 = 7 then 'placed' else status end as status,
       case when id % 200 = 7 then amount + 1 else amount end as amount,
       qty, day, code
from ({table})
"""
COLUMNS = "id, email, customer_id, status, amount, qty, day, code"


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _scan(old: Path, new: Path) -> None:
    con = duckdb.connect()
    for path in (old, new):
        con.execute(f"select max(hash({COLUMNS})) from read_parquet('{path}')").fetchall()
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.rows
    with tempfile.TemporaryDirectory(prefix="datacody-bench-diff-") as tmp:
        old, new = Path(tmp) / "old.parquet", Path(tmp) / "new.parquet"
        con = duckdb.connect()
        con.execute(f"copy ({TABLE.format(start=0, stop=n, n=n)}) to '{old}' (format parquet)")
        shifted = TABLE.format(start=n // 1000, stop=n + n // 1000, n=n)
        con.execute(f"copy ({CHANGED.format(table=shifted)}) to '{new}' (format parquet)")
        con.close()
        scan = _median(lambda: _scan(old, new), args.repeats)
        keyed = _median(lambda: diff_paths(old, new, ["id"]), args.repeats)
        multiset = _median(lambda: diff_paths(old, new), args.repeats)
        d = diff_paths(old, new, ["id"])
        print(
            f"rows: {n:,} per table; planted: {d.rows.added:,} added, {d.rows.removed:,} removed, "
            f"{d.rows.changed:,} changed {d.rows.changed_columns}"
        )
        print(f"| what | median s (of {args.repeats}) | x scan |")
        print("|---|---|---|")
        print(f"| one scan of both tables (floor) | {scan:.2f} | 1.00 |")
        print(f"| keyed diff (id) | {keyed:.2f} | {keyed / scan:.2f} |")
        print(f"| multiset diff (no key) | {multiset:.2f} | {multiset / scan:.2f} |")


if __name__ == "__main__":
    main()
