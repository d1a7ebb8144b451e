"""No proposal, from a rule or the LLM, makes a view, incremental or partitioned asset where validation
refuses one.

The project below has one asset of each kind. The patch check the LLM's replies pass
(`GraphFacts` / `patch_problems`, run by the reply model's validator) also filters every
heuristic rule's proposals in `run_rules`; each refused patch, applied to the spec, fails
`datacody validate` for the same reason (`apply_patch` re-validates).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from datacody_dagster.compiler import compile_project
from datacody_dagster.errors import DatacodyError
from datacody_dagster.optimizer.engine import run_rules
from datacody_dagster.optimizer.graph import GraphFacts
from datacody_dagster.optimizer.llm_review import OptimizerReview
from datacody_dagster.optimizer.model import (
    MergeDuplicates,
    Proposal,
    SetIncremental,
    SetMaterialization,
    SetPartitions,
)
from datacody_dagster.optimizer.patches import apply_patch
from datacody_dagster.optimizer.rules.base import RuleContext
from datacody_dagster.optimizer.signals import Signals
from tests.conftest import write_project

SPEC = """\
group: shop
sources:
  raw: {path: data/raw.csv}
assets:
  stg:
    sql: select id, amount from raw
  stg_copy:
    sql: select id, amount from raw
  read_by_steps:
    sql: select id, amount from stg
  spark_table:
    engine: spark
    sql: select id from raw
  py_table:
    python: tx:fn
    deps: [stg]
  steps_table:
    from: read_by_steps
    steps:
      - filter: "amount > 0"
"""

PATCHES = {
    ("stg", "view"): SetMaterialization(materialized="view"),  # valid: a dbt model nobody reads as Parquet
    ("stg_copy", "merge"): MergeDuplicates(into="stg"),  # valid
    ("spark_table", "view"): SetMaterialization(materialized="view"),
    ("spark_table", "incremental"): SetIncremental(unique_key=["id"]),
    ("py_table", "view"): SetMaterialization(materialized="view"),
    ("steps_table", "incremental"): SetMaterialization(materialized="incremental"),
    ("read_by_steps", "view"): SetMaterialization(materialized="view"),
    ("read_by_steps", "merge"): MergeDuplicates(into="stg"),
    ("steps_table", "partition"): SetPartitions(columns=["amount"]),  # valid: steps write folders
    ("stg", "partition"): SetPartitions(columns=["amount"]),
    ("py_table", "partition"): SetPartitions(columns=["amount"]),
}
VALID = {("stg", "view"), ("stg_copy", "merge"), ("steps_table", "partition")}


def _proposal(asset: str, patch: object) -> Proposal:
    return Proposal(rule="planted", asset=asset, patch=patch, rationale="r", evidence={"e": 1})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        {"shop.yaml": SPEC},
        {"data/raw.csv": "id,amount\n1,2\n", "tx.py": "def fn(stg):\n    return stg\n"},
        dvc=False,
    )


def test_run_rules_drops_proposals_that_would_not_validate(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def planted(_: RuleContext) -> list[Proposal]:
        return [_proposal(asset, patch) for (asset, _), patch in PATCHES.items()]

    plan = compile_project(project).plan
    with caplog.at_level(logging.WARNING):
        kept = run_rules(plan, Signals({}), rules=(planted,))
    assert {(p.asset, p.patch.op) for p in kept} == {
        ("stg", "set_materialization"),
        ("stg_copy", "merge_duplicates"),
        ("steps_table", "set_partitions"),
    }
    assert caplog.text.count("dropped") == len(PATCHES) - len(VALID)
    assert "`py_table` is not a SQL asset that dbt runs on DuckDB" in caplog.text
    assert "reads `read_by_steps` from its Parquet output" in caplog.text
    assert "`stg` cannot take `partition_by`" in caplog.text

    # The same verdicts as validation of the patched spec: each dropped patch fails to apply.
    for (asset, what), patch in PATCHES.items():
        proposal = _proposal(asset, patch)
        if (asset, what) in VALID:
            applied = apply_patch(project, proposal)
            applied.path.write_text(applied.old_text, encoding="utf-8")
            continue
        with pytest.raises(DatacodyError, match="DC106"):
            apply_patch(project, proposal)


def test_llm_reply_with_a_view_where_none_can_be_is_refused(project: Path) -> None:
    facts = GraphFacts.from_plan(compile_project(project).plan)

    def reply(asset: str, patch: dict[str, object]) -> dict[str, object]:
        return {"ranked": [], "proposals": [{"asset": asset, "patch": patch, "rationale": "faster"}]}

    view = {"op": "set_materialization", "materialized": "view"}
    with pytest.raises(ValidationError, match="`spark_table` is not a SQL asset that dbt runs"):
        OptimizerReview.model_validate(reply("spark_table", view), context={"graph": facts})
    with pytest.raises(ValidationError, match="it cannot be a view"):
        OptimizerReview.model_validate(reply("read_by_steps", view), context={"graph": facts})
    ok = OptimizerReview.model_validate(reply("stg", view), context={"graph": facts})
    assert ok.proposals[0].asset == "stg"
