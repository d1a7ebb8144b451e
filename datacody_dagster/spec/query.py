"""A metric query: metrics by group-by items, filtered, ordered, limited.

The one definition of the query fields. An export (`exports:` in a spec file) is a saved
metric query; `datacody metrics query`, `datacody ask` and the verified pairs build the same
model (`semantic/query.py` resolves and runs it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MetricQuery(BaseModel):
    """A question in MetricFlow's terms: metrics by group-by items, filtered, ordered, limited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    def text(self) -> str:
        """The `metrics=...;group_by=...` form that `--correct` accepts."""
        parts = [f"metrics={','.join(self.metrics)}"]
        if self.group_by:
            parts.append(f"group_by={','.join(self.group_by)}")
        if self.where:
            parts.append(f"where={self.where}")
        if self.order_by:
            parts.append(f"order_by={','.join(self.order_by)}")
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        return ";".join(parts)
