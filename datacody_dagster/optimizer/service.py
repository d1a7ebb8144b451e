"""One optimizer pass, shared by the sensor, the review schedule and `datacody optimize`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.optimizer.engine import run_rules
from datacody_dagster.optimizer.model import Proposal
from datacody_dagster.optimizer.rules import Thresholds
from datacody_dagster.optimizer.signals import collect_signals, default_asset_key
from datacody_dagster.optimizer.store import ProposalStore

if TYPE_CHECKING:
    from dagster import AssetKey, DagsterInstance

    from datacody_dagster.resources.llm import LlmResource


def thresholds_for(project: CompiledProject) -> Thresholds:
    """Rule thresholds, overridable under `optimizer:` in resources/<env>.yaml."""
    return Thresholds.from_settings(project.settings.optimizer)


def store_for(project: CompiledProject) -> ProposalStore:
    return ProposalStore(project.root / project.settings.proposals_dir)


def evaluate(
    project: CompiledProject,
    instance: DagsterInstance,
    *,
    llm: LlmResource | None = None,
    asset_key: Callable[[str], AssetKey] = default_asset_key,
) -> list[Proposal]:
    """Heuristic proposals from the instance's history, reviewed by the LLM when it is online."""
    signals = collect_signals(instance, project.plan, asset_key=asset_key)
    proposals = run_rules(project.plan, signals, thresholds_for(project))
    if llm is not None and llm.online:
        from datacody_dagster.optimizer.llm_review import review

        proposals = review(llm, project.plan, signals, proposals)
    return proposals


def record_new(project: CompiledProject, proposals: list[Proposal]) -> list[Proposal]:
    """Store proposals not seen before (any status); return those that are new."""
    store = store_for(project)
    return [p for p in proposals if store.add(p)]
