"""Dedup: planted exact and near-duplicates, recall at precision; exact method; cluster columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from datacody_dagster.steps.runner import run_steps_asset
from tests.steps.planted import jaccard


def _dedup(tmp_path: Path, table: pa.Table, **args: object) -> tuple[pa.Table, dict]:  # type: ignore[type-arg]
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, src)
    meta = run_steps_asset(src, [{"dedup": {"column": "content", **args}}], out)
    return pq.read_table(out), meta


def test_near_duplicates_recall_and_precision(tmp_path: Path, planted_dups) -> None:  # type: ignore[no-untyped-def]
    contents = planted_dups.table["content"].to_pylist()
    # The planted near copies really are near: their true Jaccard is above the threshold.
    assert min(jaccard(contents[i], contents[planted_dups.original_of[i]]) for i in planted_dups.near) >= 0.7
    out, meta = _dedup(tmp_path, planted_dups.table, method="minhash", threshold=0.7)
    removed = set(range(planted_dups.table.num_rows)) - set(out["doc_id"].to_pylist())
    truth = planted_dups.exact | planted_dups.near
    hits = removed & truth
    recall, precision = len(hits) / len(truth), len(hits) / len(removed)
    near_recall = len(removed & planted_dups.near) / len(planted_dups.near)
    assert recall >= 0.9 and near_recall >= 0.9, (recall, near_recall)
    assert precision >= 0.95, precision
    assert meta["duplicates"]["removed"] == len(removed)
    # Representatives are the originals (first in input order), with their cluster size.
    kept = dict(zip(out["doc_id"].to_pylist(), out["dup_count"].to_pylist(), strict=True))
    for dup in hits:
        assert kept[planted_dups.original_of[dup]] >= 2


def test_exact_method_keeps_first_and_ignores_near_copies(tmp_path: Path, planted_dups) -> None:  # type: ignore[no-untyped-def]
    out, meta = _dedup(tmp_path, planted_dups.table, method="exact")
    removed = set(range(planted_dups.table.num_rows)) - set(out["doc_id"].to_pylist())
    assert removed == planted_dups.exact
    assert meta["steps"][0]["duplicate_clusters"] == len(
        {planted_dups.original_of[i] for i in planted_dups.exact}
    )


def test_cluster_id_is_the_kept_texts_hash_and_nulls_stay(tmp_path: Path) -> None:
    import hashlib

    table = pa.table({"doc_id": [0, 1, 2, 3], "content": ["a b c d", None, "a b c d", None]})
    out, _ = _dedup(tmp_path, table, method="minhash")
    rows = out.to_pylist()
    assert [r["doc_id"] for r in rows] == [0, 1, 3]
    assert rows[0]["dup_cluster"] == hashlib.md5(b"a b c d").hexdigest()[:16]
    assert rows[0]["dup_count"] == 2
    assert rows[1]["dup_cluster"] is None and rows[1]["dup_count"] == 1
