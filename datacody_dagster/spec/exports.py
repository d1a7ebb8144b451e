"""`exports:` in a spec file: a saved metric query materialized as an asset (Parquet).

An export mirrors dbt's saved queries (``query_params: metrics, group_by, where`` and
``exports``): the query runs through MetricFlow and its result is written, checked and
versioned like every other asset. Names follow the spec language's name rule.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from datacody_dagster.spec.checks import CheckEntry
from datacody_dagster.spec.query import MetricQuery


class _ExportHeader(BaseModel):
    # Declared before the query fields only so that the JSON Schema lists `description` and
    # `label` first, as users have read it since exports were added.
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    label: str | None = Field(None, description="Human name of the saved query.")


class ExportSpec(MetricQuery, _ExportHeader):
    """A saved query over the file's (or any) metrics, written to Parquet as an asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owners: list[str] | None = Field(None, description="Default: the file's owners.")
    checks: list[CheckEntry] = Field(
        default_factory=list,
        description="Checks on the exported table, whose columns are the group-by items (MetricFlow's "
        "names, e.g. `metric_time__month`, `flight__origin`, `carrier`) and the metrics.",
    )
    schedule: str | None = Field(None, description="Cron schedule, e.g. '0 6 * * *'.")
    automation: Literal["eager"] | None = Field(
        None, description="`eager`: refresh whenever an asset it reads is materialized."
    )
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_trigger(self) -> ExportSpec:
        if self.schedule and self.automation:
            raise ValueError("set either `schedule` or `automation`, not both")
        return self
