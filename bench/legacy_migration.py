"""The one-time legacy env-run clean-up on a big instance, and what every later opening costs.

    .venv/bin/python bench/legacy_migration.py [--runs 100,400] [--repeats 3]

For each size: a SQLite instance with that many env-build runs (``datacody/env``-tagged), half
recorded on prod's keys the way an older datacody did (deleted by the pass), half on
``env/NAME/...`` keys (read and kept), each with two materializations and one check
evaluation. Prints medians of the first pass, of a second home on the same storage (the
storage's marker, then its file cache written) and of an opening with the file cached.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.storage.dagster_run import DagsterRun

from datacody_dagster.legacy_env_runs import migrate
from datacody_dagster.run_markers import ENV_TAG


def home(path: Path, storage: Path) -> Path:
    path.mkdir(parents=True)
    config = f"telemetry:\n  enabled: false\nstorage:\n  sqlite:\n    base_dir: {storage}\n"
    (path / "dagster.yaml").write_text(config, encoding="utf-8")
    return path


def fill(instance: dg.DagsterInstance, runs: int) -> None:
    for i in range(runs):
        run_id = str(uuid.uuid4())
        status = dg.DagsterRunStatus.SUCCESS
        tags = {ENV_TAG: f"env{i % 4}"}
        instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=status, tags=tags))
        prefix = [] if i % 2 == 0 else ["env", f"env{i % 4}"]
        for name in ("orders", "revenue"):
            data = StepMaterializationData(dg.AssetMaterialization(asset_key=dg.AssetKey([*prefix, name])))
            kind = DagsterEventType.ASSET_MATERIALIZATION.value
            event = DagsterEvent(event_type_value=kind, job_name="__ASSET_JOB", event_specific_data=data)
            instance.report_dagster_event(event, run_id=run_id)
        check = dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey([*prefix, "orders"]), check_name="unique_id", passed=True, metadata={}
        )
        kind = DagsterEventType.ASSET_CHECK_EVALUATION.value
        event = DagsterEvent(event_type_value=kind, job_name="__ASSET_JOB", event_specific_data=check)
        instance.report_dagster_event(event, run_id=run_id)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(runs: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        storage = root / "storage"
        first, second = home(root / "a", storage), home(root / "b", storage)
        with dg.DagsterInstance.from_config(str(first)) as instance:
            fill(instance, runs)
            said: list[str] = []
            pass_s = timed(lambda: migrate(instance, first, said.append))
            assert any(f"removed {runs // 2 + runs % 2} environment" in s for s in said), said
        with dg.DagsterInstance.from_config(str(second)) as instance:
            second_s = timed(lambda: migrate(instance, second, print))
            cached_s = timed(lambda: migrate(instance, second, print))
    return pass_s, second_s, cached_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="100,400")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"medians of {args.repeats}")
    print("| env runs | first pass (s) | per run (ms) | second home (ms) | cached (us) |")
    print("|---:|---:|---:|---:|---:|")
    for runs in (int(n) for n in args.runs.split(",")):
        got = [measure(runs) for _ in range(args.repeats)]
        first = statistics.median(g[0] for g in got)
        second = statistics.median(g[1] for g in got)
        cached = statistics.median(g[2] for g in got)
        row = (f"{first:.2f}", f"{first / runs * 1e3:.1f}", f"{second * 1e3:.1f}", f"{cached * 1e6:.0f}")
        print(f"| {runs} | {' | '.join(row)} |")


if __name__ == "__main__":
    main()
