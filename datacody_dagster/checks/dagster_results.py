"""Check outcomes and planned checks as Dagster objects (what the UI shows)."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.compiler.checks import PlannedCheck

_MAX_META_CHARS = 4000


def _severity(check: PlannedCheck) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if check.severity == "error" else dg.AssetCheckSeverity.WARN


def sample_markdown(sample: list[dict[str, Any]]) -> str:
    """The failing-row sample as a Markdown table."""
    if not sample:
        return ""
    cols = list(sample[0])

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in cols) + " |" for row in sample]
    return "\n".join(lines)


def _json_value(value: Any) -> dg.MetadataValue:
    text = json.dumps(value, default=str)
    if len(text) > _MAX_META_CHARS:
        return dg.MetadataValue.text(text[:_MAX_META_CHARS] + "...")
    return dg.MetadataValue.json(json.loads(text))


def outcome_metadata(outcome: CheckOutcome) -> dict[str, dg.MetadataValue]:
    """The metadata of one outcome: counts, fraction, sample, query, reuse and extra facts."""
    check = outcome.check
    meta: dict[str, dg.MetadataValue] = {
        "failing_rows": dg.MetadataValue.int(outcome.failing_rows),
        "total_rows": dg.MetadataValue.int(outcome.total_rows),
        "failing_fraction": dg.MetadataValue.float(round(outcome.failing_fraction, 6)),
        "severity": dg.MetadataValue.text(check.severity),
        "kind": dg.MetadataValue.text(check.kind),
        "reused": dg.MetadataValue.bool(outcome.reused),
        "description": dg.MetadataValue.text(check.description),
    }
    if outcome.query:
        meta["query"] = dg.MetadataValue.md(f"```sql\n{outcome.query}\n```")
    if outcome.sample:
        meta["sample"] = _json_value(outcome.sample)
        meta["sample_table"] = dg.MetadataValue.md(sample_markdown(outcome.sample))
    if outcome.error:
        meta["error"] = dg.MetadataValue.text(outcome.error)
    if check.location is not None:
        meta["spec"] = dg.MetadataValue.text(str(check.location))
    for key, value in outcome.metadata.items():
        name = key if key not in meta else f"detail/{key}"
        if isinstance(value, bool):
            meta[name] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            meta[name] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            meta[name] = dg.MetadataValue.float(value)
        elif isinstance(value, str):
            meta[name] = dg.MetadataValue.text(value)
        elif value is not None:
            meta[name] = _json_value(value)
    return meta


def to_asset_check_result(outcome: CheckOutcome, key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    """The AssetCheckResult of an outcome (an evaluation error counts as a failure); ``key``: the
    asset key the run records it on (an environment's), default prod's."""
    check = outcome.check
    return dg.AssetCheckResult(
        passed=outcome.passed and outcome.error is None,
        asset_key=key if key is not None else dg.AssetKey([check.asset]),
        check_name=check.name,
        severity=_severity(check),
        metadata=outcome_metadata(outcome),
        description=check.description,
    )
