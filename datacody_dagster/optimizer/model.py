"""Proposals as data: a typed patch to the spec YAML, why, the figures behind it, the gain.

A proposal's id is a stable hash of its rule, asset and patch, so the same finding made again
(by the sensor, the schedule or `datacody optimize`) is recognised and never duplicated, and a
rejected proposal stays rejected.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from datacody_dagster.spec.models import Materialization


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetSchedule(_Patch):
    """Run the asset on a cron schedule (replaces any automation)."""

    op: Literal["set_schedule"] = "set_schedule"
    cron: str = Field(description="Five-field cron expression, e.g. '0 6 * * *'.")


class SetAutomation(_Patch):
    """Run the asset when upstream data changes (replaces any cron schedule)."""

    op: Literal["set_automation"] = "set_automation"
    automation: Literal["eager", "on_cron"] = "eager"
    on_cron: str | None = Field(default=None, description="With automation=on_cron: at most once per tick.")


class SetMaterialization(_Patch):
    """Change how the asset is stored: view, table or incremental."""

    op: Literal["set_materialization"] = "set_materialization"
    materialized: Materialization


class SetIncremental(_Patch):
    """Switch a full-refresh table to incremental with a merge key and a cursor column."""

    op: Literal["set_incremental"] = "set_incremental"
    unique_key: list[str] = Field(default_factory=list, description="Columns used to merge new rows.")
    cursor: str | None = Field(default=None, description="Monotonic column; rows beyond its max are new.")


class SetPartitions(_Patch):
    """Write the asset as a folder of Parquet files partitioned by these columns."""

    op: Literal["set_partitions"] = "set_partitions"
    columns: list[str] = Field(min_length=1)


class AddCheck(_Patch):
    """Add a check entry (the spec's check syntax, e.g. {freshness: {column: x, max_age: 2d}})."""

    op: Literal["add_check"] = "add_check"
    check: dict[str, Any]


class TuneCheck(_Patch):
    """Change an existing check: its severity or its arguments (e.g. a threshold)."""

    op: Literal["tune_check"] = "tune_check"
    check: str = Field(description="Planned check name, as shown in Dagster.")
    severity: Literal["error", "warn"] | None = None
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments to set on the check.")


class RemoveCheck(_Patch):
    """Remove an existing check."""

    op: Literal["remove_check"] = "remove_check"
    check: str = Field(description="Planned check name, as shown in Dagster.")


class MergeDuplicates(_Patch):
    """The asset computes the same as `into`: read it from there instead of recomputing."""

    op: Literal["merge_duplicates"] = "merge_duplicates"
    into: str = Field(description="The asset kept as the one computation.")


class SetSql(_Patch):
    """Replace the asset's SQL (one SELECT over known assets)."""

    op: Literal["set_sql"] = "set_sql"
    sql: str


Patch = Annotated[
    SetSchedule
    | SetAutomation
    | SetMaterialization
    | SetIncremental
    | SetPartitions
    | AddCheck
    | TuneCheck
    | RemoveCheck
    | MergeDuplicates
    | SetSql,
    Field(discriminator="op"),
]

PATCH_OPS: tuple[str, ...] = (
    "set_schedule",
    "set_automation",
    "set_materialization",
    "set_incremental",
    "set_partitions",
    "add_check",
    "tune_check",
    "remove_check",
    "merge_duplicates",
    "set_sql",
)

Evidence = dict[str, float | int | str | bool | list[str] | list[float] | list[int] | None]


class Proposal(BaseModel):
    """One reviewable change to one asset's spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = ""
    rule: str
    asset: str
    patch: Patch
    rationale: str
    evidence: Evidence = Field(default_factory=dict)
    expected_gain: str = ""
    score: float = Field(default=0.0, description="Higher first; the LLM may re-rank.")
    source: Literal["heuristic", "llm", "assistant"] = "heuristic"

    def model_post_init(self, __context: Any) -> None:
        if not self.id:
            object.__setattr__(self, "id", proposal_id(self.rule, self.asset, self.patch))


def proposal_id(rule: str, asset: str, patch: BaseModel) -> str:
    """Stable id: the same rule proposing the same patch on the same asset gets the same id."""
    payload = json.dumps([rule, asset, patch.model_dump(mode="json")], sort_keys=True)
    return "p" + hashlib.sha256(payload.encode()).hexdigest()[:11]


def describe_patch(patch: BaseModel) -> str:
    """One line for listings, e.g. `set_materialization materialized=table`."""
    data = patch.model_dump(mode="json", exclude_defaults=False)
    op = data.pop("op")
    args = " ".join(
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
        for k, v in data.items()
        if v not in (None, [], {})
    )
    return f"{op} {args}".strip()
