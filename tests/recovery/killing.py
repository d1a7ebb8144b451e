"""Kill `datacody materialize` at a chosen moment, then check the next run recovers.

Shared by tests/recovery/test_sigkill.py and bench/kill.py. The run is started in its own
process group and the whole group gets SIGKILL (the CLI and the dbt process it started), as
when a machine or container dies under it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from tests.conftest import datacody_bin

SPEC = """\
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
    checks:
      - not_null: [id]
assets:
  stg_orders:
    sql: select id as order_id, customer_id, amount from raw_orders
    checks:
      - range: {column: amount, min: 0}
  order_totals:
    sql: select customer_id, sum(amount) as revenue from stg_orders group by customer_id
"""
ROWS = "id,customer_id,amount\n" + "".join(f"{i},{i % 97},{i % 13}\n" for i in range(1, 20001))


def env_for(root: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(root / ".dagster_home")}


def start_run(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [datacody_bin(), "materialize", "-q", "--force", "-p", str(root), "--wait-timeout", "120"],
        env=env_for(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_to_end(root: Path, timeout_s: float = 600) -> tuple[int, str, float]:
    """A normal run; returns (exit code, output, seconds). A hang raises TimeoutExpired."""
    started = time.monotonic()
    proc = start_run(root)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, out + err, time.monotonic() - started


def instance(root: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(root / ".dagster_home"))


def pool_claimed(root: Path) -> bool:
    inst = instance(root)
    try:
        return bool(inst.event_log_storage.get_concurrency_info("datacody_duckdb").claimed_slots)
    finally:
        inst.dispose()


def dbt_candidate_exists(root: Path) -> bool:
    return (root / "data/warehouse/shop/.stg_orders.parquet.dbt.stage.tmp").exists()


def after_seconds(seconds: float) -> Callable[[Path], bool]:
    start = time.monotonic()
    return lambda _root: time.monotonic() - start >= seconds


@dataclass(frozen=True)
class Kill:
    killed: bool  # False: the run ended before the moment came
    run_id_hint: float  # time of the kill (runs started after it are not the victim)


def kill_when(root: Path, moment: Callable[[Path], bool], timeout_s: float = 300) -> Kill:
    """Start a run and SIGKILL its process group as soon as ``moment(root)`` holds."""
    proc = start_run(root)
    deadline = time.monotonic() + timeout_s
    try:
        while proc.poll() is None:
            if moment(root):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return Kill(True, time.time())
            if time.monotonic() > deadline:
                raise TimeoutError("the moment to kill never came")
            time.sleep(0.02)
        return Kill(False, time.time())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.communicate()


def leftovers(root: Path) -> list[Path]:
    """Temp files beside outputs and in DVC's cache."""
    found = [p for p in (root / "data").rglob("*.tmp")]
    cache = root / ".dvc" / "cache"
    found += [p for p in cache.rglob(".*.tmp")] if cache.exists() else []
    return found


def runs_in_progress(root: Path) -> list[str]:
    inst = instance(root)
    try:
        runs = inst.get_runs(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
        )
        return [r.run_id for r in runs]
    finally:
        inst.dispose()


def slots_held(root: Path) -> int:
    inst = instance(root)
    try:
        return len(inst.event_log_storage.get_concurrency_info("datacody_duckdb").claimed_slots)
    finally:
        inst.dispose()
