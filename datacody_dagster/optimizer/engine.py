"""Run the heuristic rules over a plan and its signals: a ranked, de-duplicated proposal list."""

from __future__ import annotations

import logging

from datacody_dagster.compiler.plan import ProjectPlan
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
    found: dict[str, Proposal] = {}
    for rule in rules:
        for proposal in rule(ctx):
            found.setdefault(proposal.id, proposal)
    return sorted(found.values(), key=lambda p: (-p.score, p.asset, p.rule))
