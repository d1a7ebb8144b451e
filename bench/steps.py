"""Benchmarks of the training-data steps, side by side in one run (heavy: run by hand).

1. MinHash dedup docs/s: our vectorised kernels vs datasketch (MinHash + MinHashLSH) on the same
   documents with the same shingles, threshold and num_perm; recall on planted near-duplicates.
2. Secret + PII scanning rows/s: our RE2-prefilter scan vs per-row Python regex; identical flags.
3. A 10M-row group-by on DuckDB and on Spark local, Spark start-up included and excluded.

Usage: .venv/bin/python bench/steps.py [--docs 200000] [--scan-rows 200000] [--groupby-rows 10000000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from datacody_dagster.steps.minhash import (
    MinHashParams,
    band_keys,
    buckets_from_keys,
    cluster_candidates,
    signatures,
)
from datacody_dagster.steps.patterns import PII_DETECTORS, SECRET_DETECTORS
from datacody_dagster.steps.scanner import reference_kinds, scan_column

ROWS: list[tuple[str, str, str, str, str]] = []


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def make_docs(
    n: int, words: int = 60, near_share: float = 0.1, seed: int = 5
) -> tuple[list[str], dict[int, int]]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20000)]
    originals = int(n * (1 - near_share))
    docs = [" ".join(rng.choices(vocab, k=words)) for _ in range(originals)]
    near: dict[int, int] = {}
    while len(docs) < n:
        src = rng.randrange(originals)
        toks = docs[src].split()
        toks[rng.randrange(words)] = rng.choice(vocab)  # one edit: true Jaccard ~0.9
        near[len(docs)] = src
        docs.append(" ".join(toks))
    return docs, near


def ours(docs: pa.Array, params: MinHashParams) -> dict[int, int]:
    sig = signatures(docs, params)
    keys = np.arange(len(docs), dtype=np.int64)
    bb, bk, bm = buckets_from_keys(keys, band_keys(sig, params))
    members, reps, _ = cluster_candidates(bb, bk, bm, keys, sig, params.threshold)
    return dict(zip(members.tolist(), reps.tolist(), strict=True))


def shingle_bytes(doc: str, k: int) -> list[bytes]:
    toks = doc.lower().split()
    return [" ".join(toks[i : i + k]).encode() for i in range(max(1, len(toks) - k + 1))]


def datasketch_run(docs: list[str], params: MinHashParams, batch: bool) -> list[list[int]]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
    hashes = []
    for i, doc in enumerate(docs):
        m = MinHash(num_perm=params.num_perm)
        if batch:
            m.update_batch(shingle_bytes(doc, params.ngram))
        else:
            for s in shingle_bytes(doc, params.ngram):
                m.update(s)
        lsh.insert(i, m)
        hashes.append(m)
    return [lsh.query(m) for m in hashes]


def bench_dedup(n: int) -> None:
    docs, near = make_docs(n)
    arr = pa.array(docs)
    params = MinHashParams(num_perm=128, ngram=3, threshold=0.8)
    t_ours, rep = timed(lambda: ours(arr, params), 3)
    assert isinstance(rep, dict)
    recall_ours = sum(rep.get(d) == s for d, s in near.items()) / len(near)
    t_ds, cands = timed(lambda: datasketch_run(docs, params, batch=True), 1)
    assert isinstance(cands, list)
    recall_ds = sum(s in cands[d] for d, s in near.items()) / len(near)
    sub = min(n, 20000)
    t_loop, _ = timed(lambda: datasketch_run(docs[:sub], params, batch=False), 1)
    ROWS.append(
        (
            "dedup: ours (numpy MinHash+LSH+verify)",
            f"{n}",
            f"{n / t_ours:,.0f} docs/s",
            f"recall {recall_ours:.3f}",
            "1.0x",
        )
    )
    ROWS.append(
        (
            "dedup: datasketch update_batch + LSH",
            f"{n}",
            f"{n / t_ds:,.0f} docs/s",
            f"recall {recall_ds:.3f}",
            f"ours {t_ds / t_ours:.1f}x faster",
        )
    )
    ROWS.append(
        (
            "dedup: datasketch update() per shingle + LSH",
            f"{sub}",
            f"{sub / t_loop:,.0f} docs/s",
            "",
            f"ours {(n / t_ours) / (sub / t_loop):.1f}x faster",
        )
    )


def make_scan_rows(n: int, seed: int = 9) -> list[str]:
    rng = random.Random(seed)
    words = [
        "the",
        "value",
        "of",
        "index",
        "result",
        "return",
        "self",
        "none",
        "true",
        "false",
        "import",
        "from",
        "def",
        "class",
        "data",
        "config",
        "user",
        "path",
        "file",
        "line",
        "token",
        "key",
        "name",
        "list",
        "dict",
        "open",
        "read",
        "write",
    ]
    plants = [
        'password = "hunter2222"',
        "AKIA" + "Q3X7ZP2L9M4N8B6V",
        "mail a.b@example.com",
        "card 4111 1111 1111 1111",
        "call +1 415 555 0100",
        "GB82 WEST 1234 5698 7654 32",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "(212) 555-0187",
    ]
    rows = []
    for _ in range(n):
        text = " ".join(rng.choices(words, k=rng.randint(8, 30)))
        if rng.random() < 0.02:
            text += " " + rng.choice(plants)
        rows.append(text)
    return rows


def bench_scan(n: int) -> None:
    rows = make_scan_rows(n)
    arr = pa.array(rows)
    detectors = SECRET_DETECTORS + PII_DETECTORS
    t_fast, result = timed(lambda: scan_column(arr, detectors, redact=False), 3)
    t_ref, ref = timed(lambda: [reference_kinds(t, detectors) for t in rows], 1)
    counts = result.counts  # type: ignore[attr-defined]
    names = [d.kind for d in detectors]
    fast = [[names[j] for j in np.flatnonzero(r)] for r in counts]
    identical = fast == ref
    ROWS.append(
        (
            "scan: ours (RE2 prefilter, Arrow)",
            f"{n}",
            f"{n / t_fast:,.0f} rows/s",
            f"identical flags: {identical}",
            f"{t_ref / t_fast:.1f}x faster",
        )
    )
    ROWS.append(("scan: per-row Python re", f"{n}", f"{n / t_ref:,.0f} rows/s", "", "1.0x"))


SPARK_QUERY = "select k, count(*) as n, sum(v) as s, avg(v) as a from t group by k"
SPARK_SCRIPT = """
import sys, time
t0 = time.perf_counter()
from datacody_dagster.config import SparkSettings
from datacody_dagster.engines.spark import spark_session
s = spark_session(SparkSettings(master="local[2]", conf={"spark.sql.shuffle.partitions": "4"}))
s.read.parquet(sys.argv[1]).createOrReplaceTempView("t")
rows = s.sql(sys.argv[2]).collect()
first = time.perf_counter() - t0
warm = []
for _ in range(3):
    t1 = time.perf_counter(); s.sql(sys.argv[2]).collect(); warm.append(time.perf_counter() - t1)
warm.sort()
print(f"{first} {warm[1]} {len(rows)}")
"""


def bench_groupby(n: int) -> None:
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="dc_bench_"))
    data = folder / "t.parquet"
    duckdb.sql(
        f"copy (select (range % 1000)::bigint as k, (range * 7 % 10007)::double as v from range({n})) "
        f"to '{data}' (format parquet)"
    )

    def duck_cold() -> int:
        con = duckdb.connect()
        con.sql(f"create view t as select * from read_parquet('{data}')")
        return len(con.sql(SPARK_QUERY).fetchall())

    t_duck, groups = timed(duck_cold, 3)
    out = subprocess.run(
        [sys.executable, "-c", SPARK_SCRIPT, str(data), SPARK_QUERY],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    first, warm, spark_groups = out.stdout.split()[-3:]
    assert int(spark_groups) == groups
    ROWS.append(("group-by: DuckDB (connect+query)", f"{n}", f"{t_duck:.2f} s", f"{groups} groups", "1.0x"))
    ROWS.append(
        (
            "group-by: Spark local[2], start-up included",
            f"{n}",
            f"{float(first):.2f} s",
            "",
            f"{float(first) / t_duck:.1f}x slower",
        )
    )
    ROWS.append(
        (
            "group-by: Spark local[2], warm session",
            f"{n}",
            f"{float(warm):.2f} s",
            "",
            f"{float(warm) / t_duck:.1f}x slower",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--scan-rows", type=int, default=200_000)
    parser.add_argument("--groupby-rows", type=int, default=10_000_000)
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}", flush=True)
    bench_scan(args.scan_rows)
    print("scan done", flush=True)
    bench_dedup(args.docs)
    print("dedup done", flush=True)
    bench_groupby(args.groupby_rows)
    width = [max(len(r[i]) for r in ROWS) for i in range(5)]
    header = (
        "benchmark (median of 3 for ours/DuckDB, 1 run for baselines)",
        "n",
        "throughput / time",
        "quality",
        "ratio",
    )
    width = [max(w, len(h)) for w, h in zip(width, header, strict=True)]
    for row in (header, *ROWS):
        print(" | ".join(c.ljust(w) for c, w in zip(row, width, strict=True)))


if __name__ == "__main__":
    main()
