"""`exports:` in a spec file: a saved metric query materialized as an asset (Parquet).

An export mirrors dbt's saved queries (``query_params: metrics, group_by, where`` and
``exports``): the query runs through MetricFlow and its result is written, checked and
versioned like every other asset. Names follow the spec language's name rule.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from datacody_dagster.spec.checks import CheckEntry


class ExportSpec(BaseModel):
    """A saved query over the file's (or any) metrics, written to Parquet as an asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    label: str | None = Field(None, description="Human name of the saved query.")
    metrics: list[str] = Field(
        min_length=1, description="Metric names, e.g. [departures, cancellation_rate]."
    )
    group_by: list[str] = Field(
        default_factory=list,
        description="Dimensions, entities or time grains, e.g. [carrier, month] or [metric_time__month].",
    )
    where: str | None = Field(None, description="A predicate over dimension names, e.g. \"origin = 'JFK'\".")
    order_by: list[str] = Field(
        default_factory=list, description="Metric or group-by names; a leading '-' sorts descending."
    )
    limit: int | None = Field(None, ge=1, description="At most this many rows.")
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
