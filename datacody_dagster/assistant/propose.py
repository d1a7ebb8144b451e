"""`datacody propose "REQUEST"`: a plain-language request turned into typed spec patches by the LLM.

The model sees the project's asset names, column names and types, checks and SQL (the user's code,
never data rows). Its patches are validated against the real graph, any SQL by the same guard as
user SQL; valid ones become open proposals that go through `datacody proposals show/apply`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.optimizer import model as m
from datacody_dagster.optimizer.graph import GraphFacts, patch_problems
from datacody_dagster.optimizer.llm_review import NewProposal
from datacody_dagster.resources.llm import LlmResource

log = logging.getLogger(__name__)

RULE = "assistant_request"

SYSTEM = """You turn a data engineer's request into patches to declarative asset specs.
Assets are DuckDB SQL (one SELECT each) over other assets referenced by plain name. Use only the
patch operations of the schema; name only assets, columns and checks that exist; SQL must be a single
SELECT reading only listed assets. Prefer the smallest set of patches that does what was asked.
Check entries use the spec syntax, e.g. {"range": {"column": "age", "max": 120}} or
{"unique": "email"}."""


class AssistantAnswer(BaseModel):
    """The patches that implement the request, and a short explanation."""

    model_config = ConfigDict(extra="forbid")

    explanation: str = Field(max_length=2000)
    proposals: list[NewProposal] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _against_graph(self, info: ValidationInfo) -> AssistantAnswer:
        facts = (info.context or {}).get("graph")
        if isinstance(facts, GraphFacts):
            problems = [
                f"{p.asset}: {msg}" for p in self.proposals for msg in patch_problems(p.asset, p.patch, facts)
            ]
            if problems:
                raise ValueError("; ".join(problems))
        return self


def project_context(project: CompiledProject) -> str:
    """Names, types, checks and SQL of every asset (no data)."""
    assets: list[dict[str, Any]] = []
    for node in project.plan.nodes:
        assets.append(
            {
                "name": node.name,
                "kind": node.kind,
                "materialized": None if node.is_source else node.materialized,
                "columns": {c: node.column_types.get(c) for c in (node.columns or node.column_types)},
                "deps": list(node.deps),
                "sql": node.sql,
                "checks": [{"name": c.name, "kind": c.kind, "severity": c.severity} for c in node.checks],
                "schedule": node.schedule,
                "automation": node.automation,
            }
        )
    return json.dumps({"assets": assets}, indent=1)


def propose(project: CompiledProject, request: str, llm: LlmResource) -> tuple[str, list[m.Proposal]]:
    """Ask the LLM for patches implementing ``request``; raise DatacodyError when offline or invalid."""
    if not llm.online:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"`datacody propose` needs an LLM, and it is {llm.status()}",
                None,
                "export the key (its env var name is `llm.api_key_env` in resources/<env>.yaml), or point "
                "`llm.provider: openai_compatible` and `llm.base_url` at a local server; "
                "`datacody optimize` and `datacody scaffold` work offline",
            )
        )
    from instructor.core import InstructorRetryException

    facts = GraphFacts.from_plan(project.plan)
    user = f"Request: {request}\n\nProject:\n{project_context(project)}"
    try:
        answer = llm.structured(AssistantAnswer, system=SYSTEM, user=user, context={"graph": facts})
    except InstructorRetryException as exc:
        log.warning("assistant answer dropped after %s attempt(s)", exc.n_attempts)
        raise DatacodyError(
            f"the LLM did not produce a valid patch after {exc.n_attempts} attempt(s); nothing was proposed. "
            f"Last problem: {str(exc).splitlines()[-1][:400] if str(exc) else 'invalid output'}"
        ) from None
    proposals = [
        m.Proposal(
            rule=RULE,
            asset=p.asset,
            patch=p.patch,
            rationale=p.rationale,
            expected_gain=p.expected_gain,
            evidence={"request": request},
            source="assistant",
        )
        for p in answer.proposals
    ]
    return answer.explanation, proposals
