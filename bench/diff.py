"""Row-level diff of two Parquet tables against one plain scan of both.

    .venv/bin/python bench/diff.py [--rows 10000000] [--repeats 3]

Old and new tables of N rows (8 columns); the new one has 1% of rows changed in one or two
columns, 0.1% removed and 0.1% added. The floor reads every column of both tables once
(``max(hash(all columns))``: a ``count(*)`` would be answered from Parquet metadata).
"Same rows, other bytes" is the old table rewritten in another row order (every row goes through
the join); "identical files" is answered from the bytes alone. Old and new are written ordered by
the key, so their row-group statistics split the keyed join into key ranges; "new rows shuffled"
is the new table in a random row order, which takes the join in one piece.
Prints medians of wall and CPU seconds (the machine is shared: CPU seconds are the steadier
figure) and their ratios to the floor; the target is <= 2x for the keyed diff.
"""

from __future__ import annotations

import argparse
import os
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


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process (DuckDB's threads included)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


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
        # The same rows in other bytes (another row order): a rebuild that changed nothing.
        same = Path(tmp) / "same.parquet"
        con.execute(
            f"copy (select * from read_parquet('{old}') order by id desc) to '{same}' (format parquet)"
        )
        shuffled = Path(tmp) / "shuffled.parquet"
        con.execute(
            f"copy (select * from read_parquet('{new}') order by hash(id)) to '{shuffled}' (format parquet)"
        )
        con.close()
        # Interleaved, so that a change of load on the shared machine hits every row alike.
        runs: dict[str, Callable[[], object]] = {
            "one scan of both tables (floor)": lambda: _scan(old, new),
            "keyed diff (id)": lambda: diff_paths(old, new, ["id"]),
            "keyed diff (id), new rows shuffled (one join)": lambda: diff_paths(old, shuffled, ["id"]),
            "multiset diff (no key)": lambda: diff_paths(old, new),
            "keyed diff, no row changed (same rows, other bytes)": lambda: diff_paths(old, same, ["id"]),
            "keyed diff, identical files (old vs old)": lambda: diff_paths(old, old, ["id"]),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                times[name].append(_timed(fn))
        d = diff_paths(old, new, ["id"])
        print(
            f"rows: {n:,} per table; planted: {d.rows.added:,} added, {d.rows.removed:,} removed, "
            f"{d.rows.changed:,} changed {d.rows.changed_columns}"
        )
        print(f"load average after the run: {os.getloadavg()[0]:.1f} (2 cores)")
        print(f"| what | median wall s (of {args.repeats}) | x scan | median CPU s | x scan |")
        print("|---|---|---|---|---|")
        floor = times["one scan of both tables (floor)"]
        floor_wall = statistics.median(t[0] for t in floor)
        floor_cpu = statistics.median(t[1] for t in floor)
        for name, measured in times.items():
            wall = statistics.median(t[0] for t in measured)
            cpu = statistics.median(t[1] for t in measured)
            print(f"| {name} | {wall:.2f} | {wall / floor_wall:.2f} | {cpu:.2f} | {cpu / floor_cpu:.2f} |")


if __name__ == "__main__":
    main()
