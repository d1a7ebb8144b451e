"""Each optimizer rule against fixture files: a plan and synthetic signals in, proposals out.

`rule_cases/<module>.yaml` names one rule (`rule:`) and its cases: `specs` (compiled into the
plan), `signals` per asset (materializations and check runs as columns of equal length:
`timestamp`, `row_count`, `data_version`, `duration_s`; `passed`, `failing_rows`, `duration_s`),
optional `thresholds`, and `expect`: the proposals as `{asset, patch}`, the patch given by the
fields that matter. The rule runs alone, without a Dagster instance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from datacody_dagster.compiler import compile_project
from datacody_dagster.optimizer.graph import GraphFacts, patch_problems
from datacody_dagster.optimizer.patches import apply_patch
from datacody_dagster.optimizer.rules import RULES
from datacody_dagster.optimizer.rules.base import RuleContext, Thresholds
from datacody_dagster.optimizer.signals import AssetSignals, CheckSignal, MaterializationSignal, Signals
from tests.conftest import write_project

CASES_DIR = Path(__file__).parent / "rule_cases"
RULES_BY_NAME = {rule.__name__: rule for rule in RULES}


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    lengths = {len(v) for v in columns.values()}
    assert len(lengths) == 1, f"columns of unequal length: {columns}"
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _signals(raw: dict[str, Any]) -> Signals:
    assets = {}
    for name, spec in raw.items():
        columns = spec.get("materializations")
        mats = tuple(MaterializationSignal(**row) for row in _rows(columns)) if columns else ()
        checks = {
            check: tuple(CheckSignal(timestamp=float(i), **row) for i, row in enumerate(_rows(cols)))
            for check, cols in (spec.get("checks") or {}).items()
        }
        assets[name] = AssetSignals(name, mats, checks, false_alarms=spec.get("false_alarms") or {})
    return Signals(assets)


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            params.append(pytest.param(doc["rule"], case, id=f"{doc['rule']}: {case['name']}"))
    return params


def test_every_rule_has_cases() -> None:
    named = {yaml.safe_load(p.read_text(encoding="utf-8"))["rule"] for p in CASES_DIR.glob("*.yaml")}
    assert named == set(RULES_BY_NAME)


@pytest.mark.parametrize(("rule", "case"), _cases())
def test_rule_case(rule: str, case: dict[str, Any], tmp_path: Path) -> None:
    write_project(tmp_path, case["specs"])
    ctx = RuleContext(
        compile_project(tmp_path).plan,
        _signals(case.get("signals") or {}),
        Thresholds(**(case.get("thresholds") or {})),
    )
    proposals = RULES_BY_NAME[rule](ctx)
    want = case.get("expect") or []
    assert [p.asset for p in proposals] == [w["asset"] for w in want], proposals
    for proposal, w in zip(proposals, want, strict=True):
        assert proposal.rule == rule
        patch = proposal.patch.model_dump(mode="json")
        assert {k: patch.get(k) for k in w["patch"]} == w["patch"], patch
        assert proposal.rationale and proposal.evidence
        # A proposal must validate once applied (apply_patch re-validates, raises and rolls back).
        applied = apply_patch(tmp_path, proposal)
        applied.path.write_text(applied.old_text, encoding="utf-8")
    # run_rules keeps exactly what passes the LLM's patch check (GraphFacts/patch_problems).
    facts = GraphFacts.from_plan(ctx.plan)
    assert all(not patch_problems(p.asset, p.patch, facts) for p in proposals)
