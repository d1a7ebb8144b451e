"""`augment: {label, target_share, method: oversample}`: raise rare classes to a target share.

Every class of the label column whose share of the output would stay below ``target_share``
gets copies of its rows until it reaches that share of the augmented table (the shares of the
other classes shrink accordingly). Copies are drawn only from rows a near-duplicate pass keeps
(the same MinHash or exact dedup as the `dedup` step, on ``near_duplicates.column``), so
augmentation never amplifies a row that dedup would remove; each source row is copied in turn
(round robin) in an order fixed by ``seed``. The order is a pure integer hash of the row key,
computed identically by both engines, so DuckDB and Spark produce the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datacody_dagster.spec.steps import AugmentArgs
from datacody_dagster.steps.base import PERSISTED, ROW_KEY, Metadata, StepKind, require_columns, step_error

_P = 2147483647  # MINSTD: products stay below 2**47, exact in int64 on every engine
_A = 48271


def copies_needed(counts: Mapping[Any, int], target_share: float) -> dict[Any, int]:
    """Rows to add per class so that each class holds at least ``target_share`` of the result.

    The rare classes R all end at the same size m = ceil(t * N') where N' = S / (1 - |R| t) and
    S is the number of rows of the other classes; a class large enough on its own leaves R.
    """
    total = sum(counts.values())
    rare = {c for c, n in counts.items() if 0 < n < target_share * total}
    while rare:
        if len(rare) * target_share >= 1:
            raise step_error(
                f"step `augment`: {len(rare)} classes cannot each hold {target_share:.0%} of the rows",
                "lower target_share below 1 / (number of classes)",
            )
        others = sum(n for c, n in counts.items() if c not in rare)
        final = others / (1 - len(rare) * target_share)
        size = math.ceil(target_share * final - 1e-9)
        big = {c for c in rare if counts[c] >= size}
        if not big:
            return {c: size - counts[c] for c in sorted(rare, key=repr) if size > counts[c]}
        rare -= big
    return {}


def _rank_arrow(keys: pa.Array, seed: int) -> pa.Array:
    x = pc.remainder(pc.add(keys, seed * 7919), _P)
    for _ in range(2):
        x = pc.remainder(pc.multiply(x, _A), _P)
    return x


def _rank_spark(key: Any, seed: int) -> Any:
    from pyspark.sql import functions as F

    x = (key + F.lit(seed * 7919)) % F.lit(_P)
    for _ in range(2):
        x = (x * F.lit(_A)) % F.lit(_P)
    return x


def _meta(args: AugmentArgs, counts: Mapping[Any, int], added: Mapping[Any, int], pool: int) -> Metadata:
    return {
        "label": args.label,
        "target_share": args.target_share,
        "rows_added": sum(added.values()),
        "source_rows": pool,
        "classes": {str(c): {"before": counts[c], "after": counts[c] + added.get(c, 0)} for c in counts},
    }


def run_arrow(table: pa.Table, args: AugmentArgs) -> tuple[pa.Table, Metadata]:
    from datacody_dagster.steps import dedup

    require_columns([args.label], table.column_names, "augment")
    labels = table[args.label]
    counts = {
        r["values"]: int(r["counts"]) for r in pc.value_counts(labels).to_pylist() if r["values"] is not None
    }
    added = copies_needed(counts, args.target_share)
    pool = table.filter(pc.is_in(labels, pa.array(list(added), type=labels.type))) if added else table
    dedup_args = args.near_duplicates
    if added and dedup_args is not None:
        pool, _ = dedup.run_arrow(pool, dedup_args)
        pool = pool.select(table.column_names)  # without dedup's cluster columns
    if not added:
        return table, _meta(args, counts, added, 0)
    pool = pool.append_column("_dc_rank", _rank_arrow(pool[ROW_KEY], args.seed))
    next_key = pc.max(table[ROW_KEY]).as_py() + 1
    parts = [table]
    for label, k in added.items():
        rows = pool.filter(pc.equal(pool[args.label], pa.scalar(label, type=labels.type)))
        rows = rows.sort_by([("_dc_rank", "ascending"), (ROW_KEY, "ascending")]).drop_columns(["_dc_rank"])
        picks = pa.array([j % rows.num_rows for j in range(k)], type=pa.int64())
        copies = rows.take(picks)
        copies = copies.set_column(
            copies.schema.get_field_index(ROW_KEY),
            ROW_KEY,
            pa.array(range(next_key, next_key + k), pa.int64()),
        )
        parts.append(copies)
        next_key += k
    return pa.concat_tables(parts), _meta(args, counts, added, pool.num_rows)


def run_spark(df: Any, args: AugmentArgs) -> tuple[Any, Metadata]:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from datacody_dagster.steps import dedup

    require_columns([args.label], df.columns, "augment")
    rows = df.groupBy(args.label).count().collect()
    counts = {r[0]: int(r[1]) for r in rows if r[0] is not None}
    added = copies_needed(counts, args.target_share)
    if not added:
        return df, _meta(args, counts, added, 0)
    persisted: list[Any] = []
    pool = df.filter(F.col(args.label).isin(list(added)))
    dedup_args = args.near_duplicates
    if dedup_args is not None:
        pool, dmeta = dedup.run_spark(pool, dedup_args)
        persisted.extend(dmeta.get(PERSISTED, []))
        pool = pool.select(*df.columns)
    order = Window.partitionBy(args.label).orderBy(_rank_spark(F.col(ROW_KEY), args.seed), F.col(ROW_KEY))
    pool = pool.withColumn("_dc_pick", F.row_number().over(order) - 1).persist(StorageLevel.MEMORY_AND_DISK)
    persisted.append(pool)
    sizes = {r[0]: int(r[1]) for r in pool.groupBy(args.label).count().collect()}
    next_key = int(df.agg(F.max(ROW_KEY)).collect()[0][0]) + 1
    wanted = []
    for label, k in added.items():
        # Copy j of this class takes its source row number j mod (rows available).
        wanted.append(
            df.sparkSession.range(k).select(
                F.lit(label).cast(df.schema[args.label].dataType).alias(args.label),
                (F.col("id") % F.lit(sizes[label])).alias("_dc_pick"),
                (F.col("id") + F.lit(next_key)).alias("_dc_new_key"),
            )
        )
        next_key += k
    picks = wanted[0]
    for more in wanted[1:]:
        picks = picks.unionByName(more)
    copies = pool.join(picks, [args.label, "_dc_pick"]).select(
        *[F.col("_dc_new_key").alias(ROW_KEY) if c == ROW_KEY else F.col(c) for c in df.columns]
    )
    meta = _meta(args, counts, added, sum(sizes.values()))
    meta[PERSISTED] = persisted
    return df.unionByName(copies), meta


STEP = StepKind(
    "augment",
    AugmentArgs,
    run_arrow,
    run_spark,
    description="Oversample rare classes of a label column to a target share (near-duplicate aware).",
)
