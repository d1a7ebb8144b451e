"""Check evaluation: datacody vs `dbt test` (same 20 tests, start-up included) vs one plain scan.

    .venv/bin/python bench/checks.py [--rows 10000000,100000] [--repeats 3] [--only datacody]

For each size: a Parquet table with 20 checks of mixed kinds; prints medians and ratios.
The floor is one query reading every checked column once (``sum(hash(col))``: DuckDB answers
``count(col)`` from Parquet statistics, which would not read the data).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from datacody_dagster.checks import ResultCache, evaluate_checks
from datacody_dagster.checks.model import CheckTarget
from datacody_dagster.compiler.checks import plan_checks
from datacody_dagster.spec import CheckEntry

TABLE = """
select i as order_id,
       (i * 7919) % {n} as line_id,
       'user_' || ((i * 104729) % {n})::varchar as email_key,
       i % 5000 as customer_id,
       ['placed','shipped','completed','returned'][1 + i % 4] as status,
       ['EWR','JFK','LGA'][1 + i % 3] as origin,
       ['card','cash','voucher'][1 + (i // 7) % 3] as method,
       (i % 1000) * 0.25 as amount,
       (i % 90)::integer as qty,
       'AB-' || lpad((i % 1000)::varchar, 3, '0') as code,
       date '2024-01-01' + (i % 365)::integer as day,
       i % 24 as hour
from range({n}) t(i)
"""
CHECKS = [
    {"unique": "order_id"},
    {"unique": "line_id"},
    {"unique": "email_key"},
    {"unique": ["customer_id", "order_id"]},
    {"not_null": ["order_id", "customer_id", "status", "amount", "day", "code"]},
    {"accepted_values": {"column": "status", "values": ["placed", "shipped", "completed", "returned"]}},
    {"accepted_values": {"column": "origin", "values": ["EWR", "JFK", "LGA"]}},
    {"accepted_values": {"column": "method", "values": ["card", "cash", "voucher"]}},
    {"range": {"column": "amount", "min": 0, "max": 1000}},
    {"range": {"column": "qty", "min": 0, "max": 100}},
    {"range": {"column": "hour", "min": 0, "max": 23}},
    {"regex": {"column": "code", "pattern": "[A-Z]{2}-[0-9]{3}"}},
    {"relationships": {"column": "customer_id", "to": "customers", "field": "customer_id"}},
    {"row_count": {"min": 1}},
    {"expression": "qty <= 100"},
]
CHECKED = [
    "order_id",
    "line_id",
    "email_key",
    "customer_id",
    "status",
    "origin",
    "method",
    "amount",
    "qty",
    "code",
    "day",
    "hour",
]


def planned():  # type: ignore[no-untyped-def]
    return plan_checks("orders", [(CheckEntry.model_validate(e), None, None) for e in CHECKS])


def dbt_tests() -> str:
    """The same 20 checks as dbt tests (generic where dbt has one, singular SQL otherwise)."""
    cols: dict[str, list[str]] = {}
    singular: dict[str, str] = {}
    for c in planned():
        a = c.args
        if c.kind == "not_null":
            cols.setdefault(a["column"], []).append("not_null")
        elif c.kind == "unique" and len(a["columns"]) == 1:
            cols.setdefault(a["columns"][0], []).append("unique")
        elif c.kind == "accepted_values":
            vals = json.dumps(a["values"])
            cols.setdefault(a["column"], []).append(f"accepted_values: {{arguments: {{values: {vals}}}}}")
        elif c.kind == "relationships":
            cols.setdefault(a["column"], []).append(
                f"relationships: {{arguments: {{to: ref('customers'), field: {a['field']}}}}}"
            )
        else:
            from datacody_dagster.checks.sqltext import failing_rows_query

            q = failing_rows_query(c, "{{ ref('orders') }}")
            if c.kind == "row_count":
                q = "select 1 from {{ ref('orders') }} having count(*) < 1"
            singular[c.name] = q
    lines = ["version: 2", "models:", "  - name: orders", "    columns:"]
    for col, tests in cols.items():
        lines += [f"      - name: {col}", "        data_tests:"] + [f"          - {t}" for t in tests]
    return "\n".join(lines) + "\n", singular  # type: ignore[return-value]


def make_dbt(root: Path, orders: Path, customers: Path) -> None:
    (root / "models").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0.0'\nprofile: bench\nmodel-paths: [models]\ntest-paths: [tests]\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
    )
    (root / "profiles.yml").write_text(
        "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{root / 'bench.duckdb'}'\n      threads: 2\n"
    )
    for name, path in (("orders", orders), ("customers", customers)):
        (root / "models" / f"{name}.sql").write_text(
            f"{{{{ config(materialized='view') }}}}\nselect * from read_parquet('{path}')\n"
        )
    schema, singular = dbt_tests()  # type: ignore[misc]
    (root / "models" / "schema.yml").write_text(schema)
    for name, sql in singular.items():
        (root / "tests" / f"{name}.sql").write_text(sql + "\n")
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run([str(dbt), "run", "--profiles-dir", "."], cwd=root, check=True, capture_output=True)


def run_dbt_test(root: Path) -> float:
    dbt = Path(sys.executable).parent / "dbt"
    t0 = time.perf_counter()
    proc = subprocess.run([str(dbt), "test", "--profiles-dir", "."], cwd=root, capture_output=True, text=True)
    took = time.perf_counter() - t0
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    if proc.returncode != 0 or len(results) != 20:
        raise SystemExit(f"dbt test failed or ran {len(results)} tests:\n{proc.stdout[-3000:]}")
    return took


def median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(n: int, repeats: int, work: Path, only: str | None = None) -> dict[str, float]:
    orders, customers = work / "orders.parquet", work / "customers.parquet"
    con = duckdb.connect()
    con.execute(f"copy ({TABLE.format(n=n)}) to '{orders}' (format parquet)")
    con.execute(f"copy (select i as customer_id from range(5000) t(i)) to '{customers}' (format parquet)")
    checks = planned()
    assert len(checks) == 20, len(checks)
    target = CheckTarget(
        asset="orders",
        relation=f"read_parquet('{orders}')",
        parquet_path=orders,
        resolve=lambda _: f"read_parquet('{customers}')",
        resolve_version=lambda _: "customers-v1",
    )

    def datacody() -> None:
        outs = evaluate_checks(target, checks)
        bad = [(o.check.name, o.error) for o in outs if not o.passed]
        assert not bad, bad

    scan = "select " + ", ".join(f"sum(hash({c}))" for c in CHECKED) + f" from read_parquet('{orders}')"
    out = {
        "datacody": median_time(datacody, repeats),
        "floor": median_time(lambda: con.execute(scan).fetchall(), repeats),
    }
    if only == "datacody":  # while iterating: skip the re-check and dbt (~40 s a run at 10M rows)
        return out
    cache_path = work / "cache.sqlite"
    first_cached = time.perf_counter()
    evaluate_checks(target, checks, cache=ResultCache(cache_path))
    first_cached = time.perf_counter() - first_cached

    def recheck() -> None:
        cache = ResultCache(cache_path)
        outs = evaluate_checks(target, checks, cache=cache)
        cache.close()
        assert all(o.reused for o in outs)

    out["recheck"] = median_time(recheck, max(repeats, 5))
    out["first_with_cache"] = first_cached
    make_dbt(work / "dbt", orders, customers)
    out["dbt_test"] = statistics.median(run_dbt_test(work / "dbt") for _ in range(repeats))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="10000000,100000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=["datacody"], help="time datacody and the floor only")
    args = ap.parse_args()
    rows = [int(r) for r in args.rows.split(",")]
    print(f"20 checks ({', '.join(sorted({c.kind for c in planned()}))}), medians of {args.repeats} runs")
    header = (
        f"{'rows':>11} {'datacody':>9} {'dbt test':>9} {'floor':>7} {'recheck':>8}"
        f" {'dbt/dc':>7} {'dc/floor':>8} {'recheck%':>8}"
    )
    print(header)
    for n in rows:
        work = Path(tempfile.mkdtemp(prefix="bench_checks_"))
        try:
            r = bench(n, args.repeats, work, args.only)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if args.only:
            print(
                f"{n:>11,} {r['datacody']:>8.3f}s {'-':>9} {r['floor']:>6.3f}s {'-':>8} {'-':>7}"
                f" {r['datacody'] / r['floor']:>7.1f}x",
                flush=True,
            )
            continue
        print(
            f"{n:>11,} {r['datacody']:>8.3f}s {r['dbt_test']:>8.2f}s {r['floor']:>6.3f}s"
            f" {r['recheck'] * 1000:>6.1f}ms"
            f" {r['dbt_test'] / r['datacody']:>6.1f}x {r['datacody'] / r['floor']:>7.1f}x"
            f" {100 * r['recheck'] / r['first_with_cache']:>7.2f}%",
            flush=True,
        )


if __name__ == "__main__":
    main()
