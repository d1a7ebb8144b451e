"""`dedup: {column, method: exact|minhash, threshold, num_perm, ngram}`.

Keeps one row per cluster of duplicates (the first in input order) and adds ``dup_cluster``
(first 16 hex digits of the MD5 of the kept text) and ``dup_count`` (rows in the cluster).
``exact`` clusters identical texts; ``minhash`` clusters near-duplicates whose estimated
Jaccard similarity of word n-grams reaches ``threshold`` (MinHash + LSH banding, verified on
the signatures). Rows whose text is null are kept as they are.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from datacody_dagster.spec.steps import DedupArgs
from datacody_dagster.steps.base import PERSISTED, ROW_KEY, Metadata, StepKind, require_columns
from datacody_dagster.steps.minhash import (
    MinHashParams,
    band_keys,
    buckets_from_keys,
    cluster_candidates,
    signatures,
)

ADDED = (pa.field("dup_cluster", pa.string()), pa.field("dup_count", pa.int64()))


def _params(args: DedupArgs) -> MinHashParams:
    return MinHashParams(args.num_perm, args.ngram, args.threshold, args.seed)


def _md5_16(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def _exact_sql(column: str) -> str:
    c = f'"{column}"'
    return (
        f"select *, case when {c} is null then null else substr(md5({c}), 1, 16) end as dup_cluster, "
        f"case when {c} is null then 1 else count(*) over (partition by md5({c})) end as dup_count, "
        f"row_number() over (partition by md5({c}) order by {ROW_KEY}) as _dc_rank from step_input"
    )


def _summary(clusters: int) -> Metadata:
    return {"duplicate_clusters": int(clusters)}


def _finish_arrow(table: pa.Table, keep: np.ndarray, count: np.ndarray, column: str) -> pa.Table:
    out = table.filter(pa.array(keep))
    texts = out[column].to_pylist()
    out = out.drop_columns([f.name for f in ADDED if f.name in out.column_names])
    out = out.append_column(
        ADDED[0], pa.array([None if t is None else _md5_16(t) for t in texts], pa.string())
    )
    return out.append_column(ADDED[1], pa.array(count[keep], pa.int64()))


def run_arrow(table: pa.Table, args: DedupArgs) -> tuple[pa.Table, Metadata]:
    require_columns([args.column], table.column_names, "dedup")
    table = table.drop_columns([f.name for f in ADDED if f.name in table.column_names])
    if args.method == "exact":
        import duckdb

        con = duckdb.connect()
        try:
            con.register("step_input", table)
            ranked = con.sql(_exact_sql(args.column)).to_arrow_table()
        finally:
            con.close()
        rank = ranked["_dc_rank"].to_numpy()
        nonnull = ranked[args.column].is_valid().to_numpy(zero_copy_only=False)
        keep = (rank == 1) | ~nonnull
        out = ranked.filter(pa.array(keep)).drop_columns(["_dc_rank"])
        clusters = int((out["dup_count"].to_numpy() > 1).sum())
        return out, _summary(clusters)
    keys = table[ROW_KEY].to_numpy()
    valid = table[args.column].is_valid().to_numpy(zero_copy_only=False)
    params = _params(args)
    texts = table[args.column].filter(pa.array(valid))
    sig = signatures(texts, params)
    sig_keys = keys[valid]
    order = np.argsort(sig_keys, kind="stable")
    sig_keys, sig = sig_keys[order], sig[order]
    bb, bk, bm = buckets_from_keys(sig_keys, band_keys(sig, params))
    members, reps, sizes = cluster_candidates(bb, bk, bm, sig_keys, sig, params.threshold)
    keep, count = _assign(keys, members, reps, sizes)
    out = _finish_arrow(table, keep, count, args.column)
    return out, _summary(int(np.count_nonzero(count[keep] > 1)))


def _assign(
    keys: np.ndarray, members: np.ndarray, reps: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Keep mask and cluster size per row from the clustered candidates."""
    keep = np.ones(len(keys), dtype=bool)
    count = np.ones(len(keys), dtype=np.int64)
    if members.size:
        pos = np.searchsorted(members, keys)
        pos = np.clip(pos, 0, len(members) - 1)
        found = members[pos] == keys
        keep[found] = reps[pos[found]] == keys[found]
        count[found] = sizes[pos[found]]
    return keep, count


def signature_table(table: pa.Table, column: str, params: MinHashParams) -> pa.Table:
    """Spark kernel: row key, raw signature bytes and LSH band keys of each row."""
    sig = signatures(table[column], params)
    keys = band_keys(sig, params)
    n, bands = keys.shape
    offsets = pa.array(np.arange(0, n * bands + 1, bands, dtype=np.int32))
    band_list = pa.ListArray.from_arrays(offsets, pa.array(keys.reshape(-1)))
    sig_bytes = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(sig.shape[1] * 4), n, [None, pa.py_buffer(np.ascontiguousarray(sig).tobytes())]
    )
    return pa.table({ROW_KEY: table[ROW_KEY], "_dc_sig": sig_bytes.cast(pa.binary()), "_dc_bands": band_list})


def run_spark(df: Any, args: DedupArgs) -> tuple[Any, Metadata]:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    require_columns([args.column], df.columns, "dedup")
    df = df.drop(*[f.name for f in ADDED if f.name in df.columns])
    col = F.col(args.column)
    if args.method == "exact":
        digest = F.md5(col)
        w = Window.partitionBy(digest).orderBy(ROW_KEY)
        ranked = df.select(
            "*",
            F.when(col.isNull(), None).otherwise(F.substring(digest, 1, 16)).alias("dup_cluster"),
            F.when(col.isNull(), 1)
            .otherwise(F.count(F.lit(1)).over(Window.partitionBy(digest)))
            .cast("long")
            .alias("dup_count"),
            F.row_number().over(w).alias("_dc_rank"),
        )
        out = ranked.filter(col.isNull() | (F.col("_dc_rank") == 1)).drop("_dc_rank")
        return out, {"duplicate_clusters": F.sum((F.col("dup_count") > 1).cast("long"))}
    from pyspark.sql.types import ArrayType, BinaryType, LongType, StructField, StructType

    from datacody_dagster.steps.spark_util import map_batches, table_kernel

    params = _params(args)
    schema = StructType(
        [
            StructField(ROW_KEY, LongType()),
            StructField("_dc_sig", BinaryType()),
            StructField("_dc_bands", ArrayType(LongType())),
        ]
    )
    sigs = map_batches(
        df.select(ROW_KEY, args.column).filter(col.isNotNull()),
        table_kernel(partial(signature_table, column=args.column, params=params)),
        schema,
    ).persist(StorageLevel.MEMORY_AND_DISK)
    exploded = sigs.select(ROW_KEY, F.posexplode("_dc_bands").alias("_dc_band", "_dc_key"))
    bucket_cols = ["_dc_band", "_dc_key"]
    multi = exploded.groupBy(*bucket_cols).count().filter(F.col("count") > 1).drop("count")
    members = exploded.join(multi, bucket_cols).persist(StorageLevel.MEMORY_AND_DISK)
    triples = members.toArrow()
    involved = sigs.join(members.select(ROW_KEY).distinct(), ROW_KEY).select(ROW_KEY, "_dc_sig").toArrow()
    members.unpersist()
    bb = triples["_dc_band"].to_numpy().astype(np.int64)
    bk = triples["_dc_key"].to_numpy().astype(np.int64)
    bm = triples[ROW_KEY].to_numpy().astype(np.int64)
    inv_keys = involved[ROW_KEY].to_numpy().astype(np.int64)
    raw = b"".join(involved["_dc_sig"].to_pylist())
    inv_sig = np.frombuffer(raw, dtype=np.uint32).reshape(len(inv_keys), params.num_perm)
    order = np.argsort(inv_keys)
    row_keys, reps, sizes = cluster_candidates(bb, bk, bm, inv_keys[order], inv_sig[order], params.threshold)
    spark = df.sparkSession
    mapping = (
        spark.createDataFrame(pa.table({ROW_KEY: row_keys, "_dc_rep": reps, "_dc_size": sizes}))
        if row_keys.size
        else None
    )
    joined = (
        df.join(F.broadcast(mapping), ROW_KEY, "left")
        if mapping is not None
        else df.select(
            "*", F.lit(None).cast("long").alias("_dc_rep"), F.lit(None).cast("long").alias("_dc_size")
        )
    )
    out = joined.filter(F.col("_dc_rep").isNull() | (F.col("_dc_rep") == F.col(ROW_KEY))).select(
        *[F.col(c) for c in df.columns],
        F.when(col.isNull(), None).otherwise(F.substring(F.md5(col), 1, 16)).alias("dup_cluster"),
        F.coalesce(F.col("_dc_size"), F.lit(1)).cast("long").alias("dup_count"),
    )
    return out, {"duplicate_clusters": F.sum((F.col("dup_count") > 1).cast("long")), PERSISTED: [sigs]}


STEP = StepKind(
    "dedup",
    DedupArgs,
    run_arrow,
    run_spark,
    description="Remove exact or near-duplicate rows, keeping the first of each cluster.",
)
