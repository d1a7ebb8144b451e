"""Run the heuristic rules over a plan and its signals: a ranked, de-duplicated proposal list."""

from __future__ import annotations

import logging

from datacody_dagster.compiler.plan import ProjectPlan
from datacody_dagster.optimizer.graph import GraphFacts, patch_problems
from datacody_dagster.optimizer.model import Proposal
from datacody_dagster.optimizer.rules import RULES, Rule, RuleContext, Thresholds
from datacody_dagster.optimizer.signals import Signals

log = logging.getLogger(__name__)


def run_rules(
    plan: ProjectPlan,
    signals: Signals,
    thresholds: Thresholds | None = None,
    rules: tuple[Rule, ...] = RULES,
) -> list[Proposal]:
    """Every rule's proposals, best first; one proposal per id."""
    ctx = RuleContext(plan=plan, signals=signals, thresholds=thresholds or Thresholds())
    facts = GraphFacts.from_plan(plan)
    found: dict[str, Proposal] = {}
    for rule in rules:
        for proposal in rule(ctx):
            # The check the LLM's proposals pass: a rule's proposal that would not validate once
            # applied (e.g. a view where no engine makes one) is a rule bug, never shown.
            problems = patch_problems(proposal.asset, proposal.patch, facts)
            if problems:
                log.warning(
                    "optimizer: %s proposal for %s dropped: %s", proposal.rule, proposal.asset, problems[0]
                )
                continue
            found.setdefault(proposal.id, proposal)
    return sorted(found.values(), key=lambda p: (-p.score, p.asset, p.rule))
