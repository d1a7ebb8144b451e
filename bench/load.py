"""Load time of a code location with 1,000 generated specs: datacody vs dagster-dbt.

Side by side in one run, each load in a fresh Python process (as `dagster dev` does):
  - datacody: build Definitions straight from the YAML plan (no dbt involved);
  - dagster-dbt: `@dbt_assets` over the equivalent 1,000-model dbt project, given a manifest
    (the best case), and `dbt parse` to produce that manifest (what a cold start pays).
Prints medians and ratios. Usage: python bench/load.py [--models 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

DATACODY_LOAD = """
import sys, time
t = time.perf_counter()
from datacody_dagster.definitions import build_definitions
defs = build_definitions(sys.argv[1])
graph = defs.resolve_asset_graph()
n = len(list(graph.get_all_asset_keys()))
dbt_loaded = any(m == "dbt" or m.startswith("dbt.") for m in sys.modules)
print(f"{time.perf_counter() - t:.4f} {n} {dbt_loaded}")
"""

DBT_ASSETS_LOAD = """
import sys, time
t = time.perf_counter()
import dagster as dg
from dagster_dbt import dbt_assets, DbtCliResource
@dbt_assets(manifest=sys.argv[1])
def models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
dbt = DbtCliResource(project_dir=".", dbt_executable=sys.argv[2])
defs = dg.Definitions(assets=[models], resources={"dbt": dbt})
graph = defs.resolve_asset_graph()
n = len(list(graph.get_all_asset_keys()))
print(f"{time.perf_counter() - t:.4f} {n} True")
"""


def generate_project(root: Path, models: int, per_file: int = 100) -> None:
    """`models` SQL assets in files of `per_file`, each reading one or two earlier assets."""
    specs = root / "asset_specs"
    specs.mkdir(parents=True)
    (root / "resources").mkdir()
    (root / "resources" / "dev.yaml").write_text("dvc:\n  enabled: false\n")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "seed.csv").write_text("id,value,category\n1,10,a\n2,20,b\n")
    lines: list[str] = []
    for i in range(models):
        if i % per_file == 0:
            if lines:
                (specs / f"g{i // per_file - 1:03d}.yaml").write_text("\n".join(lines) + "\n")
            lines = [
                f"group: g{i // per_file:03d}",
                "sources:" if i == 0 else "",
            ]
            if i == 0:
                lines += ["  seed:", "    path: data/raw/seed.csv"]
            lines.append("assets:")
        up = "seed" if i == 0 else f"m{(i - 1) // 2:04d}"
        other = f"m{(i - 1) // 3:04d}" if i > 3 else None
        sql = f"select a.id, a.value + {i} as value, a.category from {up} a"
        if other:
            sql += f" join {other} b using (id)"
        lines += [
            f"  m{i:04d}:",
            f"    description: generated model {i}",
            f"    sql: {sql}",
            "    checks:",
            "      - not_null: [id]",
            "      - range: {column: value, min: 0}",
        ]
    (specs / f"g{(models - 1) // per_file:03d}.yaml").write_text("\n".join(lines) + "\n")


def run_timed(code: str, arg: str, cwd: Path) -> tuple[float, float, int, bool]:
    """(wall seconds of the whole process, in-process load seconds, assets, dbt imported)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, arg, str(BIN / "dbt")], capture_output=True, text=True, cwd=cwd
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    inner, n, dbt = out.stdout.strip().splitlines()[-1].split()
    return wall, float(inner), int(n), dbt == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from datacody_dagster.compiler import compile_project
    from datacody_dagster.emit.files import sync_generated_files

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        generate_project(root, args.models)
        t = time.perf_counter()
        project = compile_project(root)
        compile_s = time.perf_counter() - t
        sync_generated_files(project)
        dbt_dir = root / "dbt_project"
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}

        parse_walls = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            proc = subprocess.run(
                [str(BIN / "dbt"), "parse", "--profiles-dir", ".", "--no-partial-parse"],
                cwd=dbt_dir,
                capture_output=True,
                text=True,
                env=env,
            )
            parse_walls.append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(proc.stdout[-3000:])
        manifest = dbt_dir / "target" / "manifest.json"

        ours = [run_timed(DATACODY_LOAD, str(root), root) for _ in range(args.repeats)]
        theirs = [run_timed(DBT_ASSETS_LOAD, str(manifest), dbt_dir) for _ in range(args.repeats)]

    med = statistics.median
    ours_wall, ours_in = med(r[0] for r in ours), med(r[1] for r in ours)
    theirs_wall, theirs_in = med(r[0] for r in theirs), med(r[1] for r in theirs)
    parse = med(parse_walls)
    rows = [
        ("datacody: load location (process)", ours_wall, ours[0][2]),
        ("datacody: build defs (in process)", ours_in, ours[0][2]),
        ("dagster-dbt: load with manifest (process)", theirs_wall, theirs[0][2]),
        ("dagster-dbt: build defs (in process)", theirs_in, theirs[0][2]),
        ("dbt parse (manifest for dagster-dbt)", parse, args.models),
        ("dagster-dbt: parse + load (cold)", parse + theirs_wall, theirs[0][2]),
    ]
    print(f"\nCode-location load, {args.models} models, median of {args.repeats} (2-core machine)\n")
    print(f"{'measure':<44}{'seconds':>10}{'assets':>9}")
    for name, secs, n in rows:
        print(f"{name:<44}{secs:>10.2f}{n:>9}")
    print()
    print(f"spec compile (parse+validate+plan) in process: {compile_s:.2f}s")
    print(f"ratio dagster-dbt load / datacody load (both with process start): {theirs_wall / ours_wall:.1f}x")
    cold = (parse + theirs_wall) / ours_wall
    print(f"ratio dagster-dbt parse+load / datacody load:                   {cold:.1f}x")
    print(f"datacody imported dbt while loading: {any(r[3] for r in ours)}  (target: False)")


if __name__ == "__main__":
    main()
