"""A proposal as an AssetObservation on the asset it concerns (visible in the Dagster UI)."""

from __future__ import annotations

import json
from collections.abc import Callable

from dagster import AssetKey, AssetObservation, MetadataValue

from datacody_dagster.optimizer.model import Proposal, describe_patch
from datacody_dagster.optimizer.signals import default_asset_key


def proposal_markdown(p: Proposal) -> str:
    lines = [f"**{p.rule}**: `{describe_patch(p.patch)}`", "", p.rationale, ""]
    if p.expected_gain:
        lines += [f"Expected gain: {p.expected_gain}", ""]
    lines += ["| evidence | value |", "|---|---|"]
    lines += [f"| {k} | {json.dumps(v, default=str)} |" for k, v in p.evidence.items()]
    lines += ["", f"Review: `datacody proposals show {p.id}`, then `apply {p.id}` or `reject {p.id}`."]
    return "\n".join(lines)


def proposal_observation(
    p: Proposal, asset_key: Callable[[str], AssetKey] = default_asset_key
) -> AssetObservation:
    """The observation recorded for a new proposal: rule, rationale, evidence, patch, id."""
    return AssetObservation(
        asset_key=asset_key(p.asset),
        description=f"Optimizer proposal {p.id}: {describe_patch(p.patch)}",
        metadata={
            "datacody/proposal_id": p.id,
            "datacody/rule": p.rule,
            "datacody/rationale": p.rationale,
            "datacody/expected_gain": p.expected_gain,
            "datacody/evidence": MetadataValue.json(json.loads(json.dumps(p.evidence, default=str))),
            "datacody/patch": MetadataValue.json(p.patch.model_dump(mode="json")),
            "datacody/proposal": MetadataValue.md(proposal_markdown(p)),
        },
        tags={"datacody/proposal": p.id},
    )
