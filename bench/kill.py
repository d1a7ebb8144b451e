"""SIGKILL `datacody materialize` at many points of a run; the next run must just work.

    PYTHONPATH=. .venv/bin/python bench/kill.py [--points 20] [--keep DIR]

A small project (one CSV source of 20k rows, two dbt models with a blocking check) is
materialized once to time a clean run. Then, for each point, a run is started and its process
group (the CLI and its dbt process) gets SIGKILL: at the named moments (inside the dbt step once
the writer pool is claimed; when dbt's candidate is staged but not yet published) and at evenly
spaced fractions of the clean run's duration. After each kill the next run must end normally.
Printed per point and in total: next runs that hung (target 0) or failed, runs left STARTED
after the next run (0), pool slots held (0), temp files left after the next run (0).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import write_project
from tests.recovery import killing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20, help="kill points spread over a run")
    parser.add_argument("--keep", type=Path, help="use (and keep) this folder instead of a temp one")
    args = parser.parse_args()
    from datacody_dagster.instance import ensure_instance_home

    base = args.keep or Path(tempfile.mkdtemp(prefix="datacody-kill-"))
    root = write_project(base / "p", {"shop.yaml": killing.SPEC}, {"data/raw/orders.csv": killing.ROWS})
    ensure_instance_home(root / ".dagster_home")
    code, out, clean_s = killing.run_to_end(root)
    if code != 0:
        raise SystemExit(f"the clean run failed:\n{out}")
    # (name, factory of the moment predicate): time-based moments start counting at their run
    moments: list[tuple[str, Callable[[], Callable[[Path], bool]]]] = [
        ("dbt step, pool claimed", lambda: killing.pool_claimed),
        ("dbt candidate staged", lambda: killing.dbt_candidate_exists),
    ]
    n = max(args.points - len(moments), 1)
    for k in range(1, n + 1):
        frac = k / (n + 1)
        moments.append((f"{frac:.0%} of a run", lambda f=frac: killing.after_seconds(clean_s * f)))

    table = Table(title=f"SIGKILL at {len(moments)} points (clean run {clean_s:.1f}s)")
    for col in ("point", "killed", "next run", "next s", "left STARTED", "slots held", "temp files"):
        table.add_column(col, justify="left" if col in {"point", "next run"} else "right")
    totals = {"hung": 0, "failed": 0, "started": 0, "slots": 0, "temps": 0}
    for name, make_moment in moments:
        kill = killing.kill_when(root, make_moment())
        try:
            code, out, secs = killing.run_to_end(root, timeout_s=max(300.0, 5 * clean_s))
            verdict = "ok" if code == 0 else "FAILED"
            totals["failed"] += code != 0
        except subprocess.TimeoutExpired:
            verdict, secs = "HUNG", float("nan")
            totals["hung"] += 1
        started, slots, temps = (
            len(killing.runs_in_progress(root)),
            killing.slots_held(root),
            len(killing.leftovers(root)),
        )
        totals["started"] += started
        totals["slots"] += slots
        totals["temps"] += temps
        table.add_row(
            name,
            "yes" if kill.killed else "ended first",
            verdict,
            f"{secs:.1f}",
            str(started),
            str(slots),
            str(temps),
        )
    Console().print(table)
    print(
        f"next runs that hung: {totals['hung']}  failed: {totals['failed']}  "
        f"runs left STARTED: {totals['started']}  slots held: {totals['slots']}  "
        f"temp files left after the next run: {totals['temps']}"
    )
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
