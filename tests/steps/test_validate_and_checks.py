"""Step validation diagnostics, the plan's partitioning, the example spec, training checks."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from datacody_dagster.checks.training import evaluate_training_check
from datacody_dagster.compiler import compile_project, diagnose
from datacody_dagster.compiler.checks import PlannedCheck
from tests.conftest import REPO, write_project

SPEC = """\
group: g
sources:
  files: {path: "stdlib://json/*.py", format: text}
assets:
  corpus:
    from: files
    steps:
      - dedupe: {column: content}
      - dedup: {method: fuzzy, threshold: 2}
      - filter: "select 1 from x"
      - output: {partition_by: [language]}
      - scan_pii: {action: flag, colums: [content]}
"""


def test_bad_steps_are_reported_with_positions(tmp_path: Path) -> None:
    _, diags = diagnose(write_project(tmp_path, {"g.yaml": SPEC}, dvc=False))
    text = [d.format() for d in diags]
    assert any("asset_specs/g.yaml:8:9" in t and "unknown step kind `dedupe`" in t for t in text), text
    assert any("asset_specs/g.yaml:9:17" in t and "method" in t for t in text), text
    assert any("asset_specs/g.yaml:9:32" in t and "threshold" in t for t in text), text
    assert any("step 3 `filter`" in t and "row predicate" in t for t in text), text
    assert any("`output` step must be the last step" in t for t in text), text
    assert any("unknown argument `colums`" in t and "g.yaml:12:34" in t for t in text), text
    assert all(d.code == "DC106" for d in diags)


def test_plan_takes_partitioning_from_the_output_step(tmp_path: Path) -> None:
    spec = SPEC.split("    steps:")[0] + "    steps:\n      - output: {partition_by: [language]}\n"
    project = compile_project(write_project(tmp_path, {"g.yaml": spec}, dvc=False))
    node = project.plan.node("corpus")
    assert node.kind == "steps" and node.partition_by == ("language",)
    assert node.output_relpath("data/warehouse") == "data/warehouse/g/corpus"


def test_example_corpus_spec_compiles() -> None:
    _, diags = diagnose(REPO)
    assert [d.format() for d in diags if "corpus.yaml" in d.format()] == []


def _check(kind: str, **args: object) -> PlannedCheck:
    return PlannedCheck(asset="t", name=kind, kind=kind, args=dict(args), severity="error", description=kind)


def test_training_checks_count_rows_and_never_show_secrets() -> None:
    con = duckdb.connect()
    secret = "AKIA" + "Q3X7ZP2L9M4N8B6V"
    table = pa.table({"content": [f"key = '{secret}'", "plain", "mail jane.doe@example.org", "plain", None]})
    con.register("t", table)
    sec = evaluate_training_check(con, "t", _check("secrets"))
    assert (sec.passed, sec.failing_rows, sec.total_rows) == (False, 1, 5)
    assert secret not in str(sec.sample) and "<AWS_ACCESS_KEY>" in str(sec.sample)
    pii = evaluate_training_check(con, "t", _check("pii", columns=["content"], max_rate=0.25))
    assert pii.passed and pii.failing_rows == 1 and pii.metadata["rows_by_kind"]["email"] == 1
    dup = evaluate_training_check(con, "t", _check("duplicates", column="content", method="exact"))
    assert (dup.passed, dup.failing_rows) == (False, 1)
    near = evaluate_training_check(
        con, "t", _check("duplicates", column="content", method="minhash", threshold=0.8, max_rate=0.5)
    )
    assert near.passed and near.failing_rows == 1
    bad = evaluate_training_check(con, "t", _check("duplicates", column="nope"))
    assert not bad.passed and bad.error
