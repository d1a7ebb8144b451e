"""DuckDB vs Spark local[2] vs a standalone cluster vs Spark Connect, side by side in one run.

Workloads: a group-by + join over N fact rows (a 1,000-row dimension), at two sizes so that the
per-row slope and the fixed cost per query can be separated; and the `dedup` step (MinHash,
threshold 0.8) on D documents. Each Spark mode runs in a fresh client process (one SparkContext
per process); the standalone cluster (master + 2 workers, 1 core and 1 GB each) and the Connect
server (local[2] inside) are started from the installed pyspark on 127.0.0.1 and stopped by PID.

"start-up excl." is the median of warm runs; "incl." adds the session start (and, for the
cluster modes, the time to bring the cluster up is printed separately).

Usage: .venv/bin/python bench/cluster.py [--rows 10000000] [--docs 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUERY = """
select d.name, count(*) as n, sum(f.v) as total, max(f.id) as last_id
from facts f join dims d on f.k = d.k
group by d.name
"""


def make_data(folder: Path, rows: int, small: int, docs: int) -> dict[str, str]:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    con = duckdb.connect()
    paths = {}
    for name, n in (("facts", rows), ("facts_small", small)):
        path = folder / f"{name}.parquet"
        con.execute(
            f"copy (select i as id, (i * 7919) % 1000 as k, ((i * 31) % 1000) / 10.0 as v "
            f"from range({n}) t(i)) to '{path}' (format parquet)"
        )
        paths[name] = str(path)
    paths["dims"] = str(folder / "dims.parquet")
    con.execute(
        f"copy (select i as k, 'name_' || (i % 250) as name from range(1000) t(i)) to '{paths['dims']}'"
    )
    # Documents of 60 words; every 10th is a one-word edit of an earlier one (true Jaccard ~0.9).
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(20000)]
    texts: list[str] = []
    for i in range(docs):
        if i % 10 == 9 and texts:
            toks = texts[rng.randrange(len(texts))].split()
            toks[rng.randrange(len(toks))] = rng.choice(vocab)
            texts.append(" ".join(toks))
        else:
            texts.append(" ".join(rng.choices(vocab, k=60)))
    paths["docs"] = str(folder / "docs.parquet")
    pq.write_table(pa.table({"doc_id": list(range(docs)), "content": texts}), paths["docs"])
    return paths


def _median_runs(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(first run, median of the warm runs) in seconds."""
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:])


def run_duckdb(paths: dict[str, str], repeat: int, work: Path) -> dict[str, float]:
    import duckdb

    from datacody_dagster.steps.runner import run_steps_asset

    out: dict[str, float] = {"startup": 0.0}
    for size in ("facts_small", "facts"):

        def q(size: str = size) -> None:
            con = duckdb.connect()
            sql = QUERY.replace("facts f", f"'{paths[size]}' f").replace("dims d", f"'{paths['dims']}' d")
            con.execute(f"copy ({sql}) to '{work / 'duck_q.parquet'}' (format parquet)")
            con.close()

        out[f"first_{size}"], out[size] = _median_runs(q, repeat)
    steps = [{"dedup": {"column": "content", "method": "minhash", "threshold": 0.8}}]
    out["first_dedup"], out["dedup"] = _median_runs(
        lambda: run_steps_asset(Path(paths["docs"]), steps, work / "duck_dedup.parquet"), max(1, repeat - 2)
    )
    return out


def client(mode: str, url: str, paths: dict[str, str], repeat: int, work: Path) -> dict[str, float]:
    """Runs in its own process: one Spark session for ``mode``; the same work as run_duckdb."""
    from datacody_dagster.config import SparkSettings
    from datacody_dagster.engines.spark import materialize_sql, spark_session
    from datacody_dagster.steps.runner import run_steps_asset

    conf = {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"}
    if mode == "standalone":
        conf.update({"spark.executor.memory": "1g", "spark.executor.cores": "1", "spark.cores.max": "2"})
    settings = (
        SparkSettings(remote=url, conf={"spark.sql.shuffle.partitions": "4"})
        if mode == "connect"
        else SparkSettings(master=url, conf=conf)
    )
    start = time.perf_counter()
    spark = spark_session(settings)
    spark.range(1).count()  # executors registered and reachable
    out = {"startup": time.perf_counter() - start}
    for size in ("facts_small", "facts"):

        def q(size: str = size) -> None:
            inputs = {"facts": Path(paths[size]), "dims": Path(paths["dims"])}
            materialize_sql(QUERY, inputs, work / f"{mode}_q.parquet", spark)

        out[f"first_{size}"], out[size] = _median_runs(q, repeat)
    steps = [{"dedup": {"column": "content", "method": "minhash", "threshold": 0.8}}]
    out["first_dedup"], out["dedup"] = _median_runs(
        lambda: run_steps_asset(
            Path(paths["docs"]), steps, work / f"{mode}_dedup.parquet", engine="spark", spark=spark
        ),
        max(1, repeat - 2),
    )
    spark.stop()
    return out


def _spawn(mode: str, url: str, paths: dict[str, str], repeat: int, work: Path) -> dict[str, float]:
    args = [sys.executable, __file__, "--client", mode, "--url", url, "--repeat", str(repeat)]
    args += ["--paths", json.dumps(paths), "--work", str(work)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} client failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default="duckdb,local,standalone,connect")
    parser.add_argument("--client")
    parser.add_argument("--url")
    parser.add_argument("--paths")
    parser.add_argument("--work")
    a = parser.parse_args()
    if a.client:
        print(json.dumps(client(a.client, a.url, json.loads(a.paths), a.repeat, Path(a.work))))
        return

    from tests.cluster.processes import start_connect, start_standalone

    small = a.rows // 10
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} rows={a.rows:,} docs={a.docs:,}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = make_data(work, a.rows, small, a.docs)
        results: dict[str, dict[str, float]] = {}
        bring_up: dict[str, float] = {}
        for mode in a.modes.split(","):
            started = time.perf_counter()
            if mode == "duckdb":
                results[mode] = run_duckdb(paths, a.repeat, work)
            elif mode == "local":
                results[mode] = _spawn(mode, "local[2]", paths, a.repeat, work)
            elif mode == "standalone":
                cluster = start_standalone(work / "standalone", workers=2)
                bring_up[mode] = time.perf_counter() - started
                try:
                    results[mode] = _spawn(mode, cluster.url, paths, a.repeat, work)
                finally:
                    cluster.stop()
            elif mode == "connect":
                server = start_connect(work / "connect", master="local[2]")
                bring_up[mode] = time.perf_counter() - started
                try:
                    results[mode] = _spawn(mode, server.url, paths, a.repeat, work)
                finally:
                    server.stop()
            print(f"{mode} done", flush=True)
    report(results, bring_up, a.rows, small, a.docs)


def report(
    results: dict[str, dict[str, float]], bring_up: dict[str, float], rows: int, small: int, docs: int
) -> None:
    header = [
        "engine",
        "cluster up s",
        "session s",
        f"join+group {small:,} s",
        f"join+group {rows:,} s",
        f"{rows:,} incl. start s",
        "ms / 1M rows",
        "fixed s / query",
        f"dedup {docs:,} s",
        "dedup incl. start s",
    ]
    table = []
    slopes: dict[str, tuple[float, float]] = {}
    for mode, r in results.items():
        slope = (r["facts"] - r["facts_small"]) / (rows - small)  # seconds per row
        fixed = r["facts"] - slope * rows
        slopes[mode] = (slope, fixed)
        table.append(
            [
                mode,
                f"{bring_up.get(mode, 0.0):.1f}",
                f"{r['startup']:.1f}",
                f"{r['facts_small']:.2f}",
                f"{r['facts']:.2f}",
                f"{r['startup'] + r['first_facts']:.2f}",
                f"{slope * 1e9:.0f}",
                f"{fixed:.2f}",
                f"{r['dedup']:.2f}",
                f"{r['startup'] + r['first_dedup']:.2f}",
            ]
        )
    width = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    print()
    print("median of warm runs; 'incl. start' = session start + first (cold) run")
    for row in [header, *table]:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, width, strict=True)))
    if "duckdb" in slopes:
        d_slope, d_fixed = slopes["duckdb"]
        print()
        for mode, (slope, fixed) in slopes.items():
            if mode == "duckdb":
                continue
            if slope < d_slope:
                cross = (fixed - d_fixed) / (d_slope - slope)
                print(f"{mode}: per-row slope below DuckDB's; break-even near {cross:,.0f} rows per query")
            else:
                print(
                    f"{mode}: per-row slope {slope / d_slope:.1f}x DuckDB's on this machine: no break-even "
                    "at any size here (more cores/machines lower Spark's slope, not DuckDB's)"
                )


if __name__ == "__main__":
    main()
