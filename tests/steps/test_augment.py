"""The `augment` step: rare classes reach the target share, copies come only from rows dedup keeps,
the choice is fixed by the seed, and the counts are in the metadata (DuckDB engine here; the
Spark engine gives the same rows in test_spark.py and on the clusters)."""

from __future__ import annotations

import collections
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacody_dagster.errors import DatacodyError
from datacody_dagster.steps.augment import copies_needed
from datacody_dagster.steps.runner import run_steps_asset


def labelled_corpus(path: Path) -> Path:
    """80 python, 15 text and 5 rust documents; rust rows 3 and 4 are near-copies of row 2."""
    docs, labels = [], []
    for i in range(80):
        docs.append(f"def handler_{i}(event, context):\n    return process(event, {i}, retries={i % 7})")
        labels.append("python")
    for i in range(15):
        docs.append(f"Release notes {i}: fixed bug number {i * 13} in the parser and the {i}th renderer")
        labels.append("text")
    rust = [
        'fn main() { let v: Vec<i32> = (0..10).collect(); println!("{:?}", v); }',
        "struct Point { x: f64, y: f64 } impl Point { fn norm(&self) -> f64 { self.x.hypot(self.y) } }",
        "pub fn parse(input: &str) -> Result<Config, Error> { let doc = toml::from_str(input)?; Ok(doc) }",
        "pub fn parse(input: &str) -> Result<Config, Error> { let doc = toml::from_str(input)?; Ok(doc) } ",
        "pub fn parse(input: &str) -> Result<Config, Error> { let doc = toml::from_str(input)?; Ok(doc) }\n",
    ]
    docs += rust
    labels += ["rust"] * len(rust)
    pq.write_table(pa.table({"doc_id": list(range(len(docs))), "content": docs, "language": labels}), path)
    return path


AUGMENT = {
    "augment": {
        "label": "language",
        "target_share": 0.2,
        "seed": 7,
        "near_duplicates": {"column": "content", "method": "minhash", "threshold": 0.7},
    }
}


def test_copies_needed_reaches_the_share_for_every_rare_class() -> None:
    added = copies_needed({"python": 80, "text": 15, "rust": 5}, 0.2)
    assert added == {"rust": 22, "text": 12}
    final = 100 + sum(added.values())
    assert (15 + 12) / final >= 0.2 and (5 + 22) / final >= 0.2
    assert copies_needed({"a": 50, "b": 50}, 0.3) == {}  # nothing rare
    with pytest.raises(DatacodyError, match="cannot each hold"):
        copies_needed({"a": 90, "b": 5, "c": 5}, 0.5)


def test_augment_on_duckdb_is_deterministic_and_near_duplicate_aware(tmp_path: Path) -> None:
    src = labelled_corpus(tmp_path / "in.parquet")
    meta = run_steps_asset(src, [AUGMENT], tmp_path / "a.parquet")
    out = pq.read_table(tmp_path / "a.parquet").to_pylist()
    counts = collections.Counter(r["language"] for r in out)
    assert counts == {"python": 80, "text": 27, "rust": 27}
    assert all(n / len(out) >= 0.2 for lang, n in counts.items() if lang != "python")
    # The originals come first, in input order; copies follow.
    assert [r["doc_id"] for r in out[:100]] == list(range(100))
    # Rust rows 3 and 4 are near-duplicates of row 2 (dedup removes them): never copied.
    copied = collections.Counter(r["doc_id"] for r in out[100:])
    assert set(copied) & {97, 98, 99} == {97} and not set(copied) & {98, 99}
    assert sorted(copied[i] for i in (95, 96, 97)) == [7, 7, 8]  # round robin over the 3 kept rows
    assert meta["augmented"] == {
        "label": "language",
        "target_share": 0.2,
        "rows_added": 34,
        "classes": {
            "python": {"before": 80, "after": 80},
            "text": {"before": 15, "after": 27},
            "rust": {"before": 5, "after": 27},
        },
    }
    run_steps_asset(src, [AUGMENT], tmp_path / "b.parquet")
    assert pq.read_table(tmp_path / "b.parquet").equals(pq.read_table(tmp_path / "a.parquet"))
    other_seed = {"augment": {**AUGMENT["augment"], "seed": 8}}
    run_steps_asset(src, [other_seed], tmp_path / "c.parquet")
    picks = [r["doc_id"] for r in pq.read_table(tmp_path / "c.parquet").to_pylist()[100:]]
    assert picks != [r["doc_id"] for r in out[100:]]  # another seed, another order


def test_augment_names_a_missing_label_column(tmp_path: Path) -> None:
    src = labelled_corpus(tmp_path / "in.parquet")
    with pytest.raises(DatacodyError, match="unknown column"):
        run_steps_asset(src, [{"augment": {"label": "lang", "target_share": 0.2}}], tmp_path / "o.parquet")
