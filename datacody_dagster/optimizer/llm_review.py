"""The LLM pass: rank, explain and refine the heuristic findings, and maybe add proposals.

The request holds names, types and aggregates only (asset and column names, declared types,
run counts, durations, row counts, version-change counts, the heuristic findings): never row
values, never previews, never SQL literals. Every returned proposal is validated against the
real graph (:mod:`datacody_dagster.optimizer.graph`); an invalid reply is re-asked by
instructor and, when all attempts fail, dropped with a logged reason: the heuristic findings
are then returned as they were.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from datacody_dagster.compiler.plan import ProjectPlan
from datacody_dagster.optimizer import model as m
from datacody_dagster.optimizer.graph import GraphFacts, patch_problems
from datacody_dagster.optimizer.signals import Signals
from datacody_dagster.resources.llm import LlmResource

log = logging.getLogger(__name__)

LLM_RULE = "llm_review"

SYSTEM = """You review a data pipeline made of declarative asset specs (DuckDB SQL assets).
You get asset names, column names and types, schedules, checks and aggregate run statistics, plus
findings from heuristic rules. Rank the findings (1 = most valuable), explain each in one or two
sentences for the engineer who will review it, and add at most a few new proposals only when the
statistics clearly support them. Use only the patch operations of the schema, only assets, columns
and checks that exist, and SQL that is one SELECT over the listed assets."""


class RankedFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Id of a heuristic finding.")
    rank: int = Field(ge=1, description="1 = review first.")
    explanation: str = Field(max_length=1200)


class NewProposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: str
    patch: m.Patch
    rationale: str = Field(max_length=1500)
    expected_gain: str = Field(default="", max_length=400)


def _graph_problems(asset: str, patch: Any, info: ValidationInfo) -> None:
    facts = (info.context or {}).get("graph")
    if isinstance(facts, GraphFacts):
        problems = patch_problems(asset, patch, facts)
        if problems:
            raise ValueError("; ".join(problems))


class OptimizerReview(BaseModel):
    """What the model returns: rankings of known findings and optional new typed proposals."""

    model_config = ConfigDict(extra="forbid")

    ranked: list[RankedFinding] = Field(default_factory=list)
    proposals: list[NewProposal] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _against_graph(self, info: ValidationInfo) -> OptimizerReview:
        facts = (info.context or {}).get("graph")
        if isinstance(facts, GraphFacts):
            unknown = [r.id for r in self.ranked if r.id not in facts.finding_ids]
            if unknown:
                raise ValueError(f"unknown finding ids {unknown}; known: {sorted(facts.finding_ids)}")
            for p in self.proposals:
                _graph_problems(p.asset, p.patch, info)
        return self


def _asset_summary(plan: ProjectPlan, signals: Signals) -> list[dict[str, Any]]:
    out = []
    for node in plan.nodes:
        sig = signals.of(node.name)
        rows = sig.row_counts
        out.append(
            {
                "name": node.name,
                "kind": node.kind,
                "materialized": None if node.is_source else node.materialized,
                "deps": list(node.deps),
                "downstream": [d.name for d in plan.downstream(node.name)],
                "columns": {c: node.column_types.get(c) for c in (node.columns or node.column_types)},
                "schedule": node.schedule,
                "automation": node.automation,
                "partition_by": list(node.partition_by),
                "checks": [{"name": c.name, "kind": c.kind, "severity": c.severity} for c in node.checks],
                "history": {
                    "materializations": sig.runs,
                    "mean_duration_s": round(sig.mean_duration() or 0.0, 3),
                    "row_count_first": rows[0] if rows else None,
                    "row_count_last": rows[-1] if rows else None,
                    "data_version_changes": sig.version_changes,
                    "check_runs": {
                        name: {"runs": len(runs), "failures": sum(not r.passed for r in runs)}
                        for name, runs in sig.checks.items()
                        if runs
                    },
                },
            }
        )
    return out


def build_request(plan: ProjectPlan, signals: Signals, findings: list[m.Proposal]) -> str:
    """The user message: a JSON document of names, types and aggregates."""
    payload = {
        "assets": _asset_summary(plan, signals),
        "findings": [
            {
                "id": p.id,
                "rule": p.rule,
                "asset": p.asset,
                "patch": p.patch.model_dump(mode="json"),
                "rationale": p.rationale,
                "evidence": p.evidence,
            }
            for p in findings
        ],
    }
    return "Review this pipeline.\n" + json.dumps(payload, indent=1, default=str)


def review(
    llm: LlmResource, plan: ProjectPlan, signals: Signals, findings: list[m.Proposal]
) -> list[m.Proposal]:
    """Findings ranked and explained by the LLM, plus its validated additions.

    Offline, or when every attempt returned invalid output, the findings come back unchanged.
    """
    if not llm.online:
        return findings
    from instructor.core import InstructorRetryException

    facts = GraphFacts.from_plan(plan, frozenset(p.id for p in findings))
    try:
        result = llm.structured(
            OptimizerReview,
            system=SYSTEM,
            user=build_request(plan, signals, findings),
            context={"graph": facts},
        )
    except InstructorRetryException as exc:
        log.warning("LLM review dropped after %s attempt(s): %s", exc.n_attempts, _reason(exc))
        return findings
    except Exception as exc:  # network, HTTP or provider errors: the heuristics still stand
        log.warning("LLM review unavailable (%s): %s", type(exc).__name__, str(exc).splitlines()[0][:300])
        return findings
    return merge_review(findings, result)


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "last_completion", None) and exc) or repr(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[:6])[:800]


def merge_review(findings: list[m.Proposal], result: OptimizerReview) -> list[m.Proposal]:
    ranks = {r.id: r for r in result.ranked}
    top = max((p.score for p in findings), default=0.0) + len(ranks) + 1
    out = []
    for p in findings:
        r = ranks.get(p.id)
        if r is None:
            out.append(p)
            continue
        out.append(
            p.model_copy(
                update={
                    "rationale": f"{p.rationale}\n\nReviewer (LLM): {r.explanation}",
                    "score": top - r.rank,
                }
            )
        )
    known = {p.id for p in out}
    for n in result.proposals:
        added = m.Proposal(
            rule=LLM_RULE,
            asset=n.asset,
            patch=n.patch,
            rationale=n.rationale,
            expected_gain=n.expected_gain,
            source="llm",
            score=1.0,
        )
        if added.id not in known:
            out.append(added)
            known.add(added.id)
    return sorted(out, key=lambda p: (-p.score, p.asset, p.rule))
