"""CPU of a headless (in-process) run while its step waits for a pool held by another run.

    .venv/bin/python bench/pool_wait_cpu.py [--wait 5] [--repeats 3]

A real Dagster instance in a temp folder; a live run (this process) holds the only slot of the
DuckDB pool; a bounded in-process run (``bounded_pool_waits``) waits ``--wait`` seconds for it and
gives up. Prints, per repeat and as medians, the wall time of the wait and the CPU-s this process
used meanwhile (``time.process_time``, all threads). A wait that spins shows CPU-s ~ wall time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from datacody_dagster.emit.dagster import DUCKDB_POOL
from datacody_dagster.errors import DatacodyError
from datacody_dagster.instance import ensure_instance_home
from datacody_dagster.runtime.dead_runs import run_tags
from datacody_dagster.runtime.inprocess_pool_wait import bounded_pool_waits


@dg.asset(pool=DUCKDB_POOL)
def writes() -> int:
    return 1


def _hold_the_pool(instance: dg.DagsterInstance) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=run_tags())
    )
    instance.event_log_storage.set_concurrency_slots(DUCKDB_POOL, 1)
    assert instance.event_log_storage.claim_concurrency_slot(DUCKDB_POOL, run_id, "holder").is_claimed
    return run_id


def one_wait(wait_s: float) -> tuple[float, float]:
    """(wall s, CPU-s) of one bounded run that waits ``wait_s`` for the pool and gives up."""
    with tempfile.TemporaryDirectory() as tmp:
        instance = dg.DagsterInstance.from_config(str(ensure_instance_home(Path(tmp) / ".dagster_home")))
        holder = _hold_the_pool(instance)
        dg.materialize([dg.asset(name="warm")(lambda: 1)], instance=instance)  # imports, first run
        wall, cpu = time.monotonic(), time.process_time()
        try:
            with bounded_pool_waits(wait_s):
                dg.materialize([writes], instance=instance, raise_on_error=False)
        except DatacodyError:
            pass
        else:
            raise SystemExit("the run did not give up: the pool was not held")
        result = time.monotonic() - wall, time.process_time() - cpu
        instance.event_log_storage.free_concurrency_slots_for_run(holder)
        instance.dispose()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=5.0, help="the run's bound (seconds)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = [one_wait(args.wait) for _ in range(args.repeats)]
    print("| repeat | wall s | CPU-s | CPU/wall |\n|---|---|---|---|")
    for i, (wall, cpu) in enumerate(rows, 1):
        print(f"| {i} | {wall:.2f} | {cpu:.2f} | {cpu / wall:.2f} |")
    wall = statistics.median(r[0] for r in rows)
    cpu = statistics.median(r[1] for r in rows)
    print(f"| median | {wall:.2f} | {cpu:.2f} | {cpu / wall:.2f} |")


if __name__ == "__main__":
    main()
