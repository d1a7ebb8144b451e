"""Interleaved A/B of the run's dbt worker: `datacody materialize --force` with and without it.

    .venv/bin/python bench/dbt_worker.py [--repeat 5] [--project jaffle|flights]

Both variants run alternately in the same project (so a loaded machine hurts both alike), each a
whole process: ``DATACODY_DBT_WORKER=0`` (dbt imported and parsed in the CLI's process, after
Dagster) against the default (a worker started before Dagster is imported, on the other core).
Prints medians of wall seconds and CPU seconds (the CLI and its children, the worker included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e import JAFFLE, datacody, flights_project, jaffle_files, median, timed, write_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--project", choices=["jaffle", "flights"], default="jaffle")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="datacody-dbt-worker-"))
    try:
        if args.project == "jaffle":
            root = write_project(workdir / "jaffle", {"jaffle.yaml": JAFFLE}, jaffle_files())
        else:
            root = flights_project(workdir / "flights")
        timed(datacody("materialize", "-p", str(root), "-q"), root)  # warm-up: partial parse state, DVC
        samples: dict[str, list[tuple[float, float]]] = {"in process": [], "worker": []}
        print(f"load average at start {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        for _ in range(args.repeat):
            for label, flag in (("in process", "0"), ("worker", "1")):
                os.environ["DATACODY_DBT_WORKER"] = flag
                wall, cpu, _out = timed(datacody("materialize", "-p", str(root), "--force", "-q"), root)
                samples[label].append((wall, cpu))
                print(f"  {label}: {wall:.2f} s ({cpu:.2f} CPU-s)", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average at end {os.getloadavg()[0]:.1f}\n")
    print(f"| {args.project}: materialize --force, medians of {args.repeat} | wall | CPU |")
    print("|---|---|---|")
    for label, xs in samples.items():
        wall, cpu = median([w for w, _ in xs]), median([c for _, c in xs])
        print(f"| dbt {label} | {wall:.2f} s | {cpu:.2f} CPU-s |")


if __name__ == "__main__":
    main()
