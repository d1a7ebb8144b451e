"""The semantic layer of the spec language: entities, dimensions, measures and metrics.

An asset's ``semantic:`` says what its rows mean (compiled into a MetricFlow semantic model);
a file's ``metrics:`` says what people ask for (compiled into MetricFlow metrics). Names follow
MetricFlow's rules: lower case letters, digits and single underscores.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EntityType = Literal["primary", "foreign", "unique", "natural"]
Granularity = Literal["hour", "day", "week", "month", "quarter", "year"]
Aggregation = Literal["sum", "count", "count_distinct", "avg", "min", "max"]
MetricType = Literal["simple", "ratio", "derived", "cumulative"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntitySpec(_Spec):
    """A key of the asset: `primary` (one row per value), `foreign` (points at another asset's key)."""

    type: EntityType = Field("foreign", description="primary | foreign | unique | natural.")
    expr: str | None = Field(None, description="Column or SQL expression; default: the entity's name.")
    description: str | None = None


class DimensionSpec(_Spec):
    """Something to group or filter by: categorical, or time with a granularity."""

    type: Literal["categorical", "time"] = "categorical"
    granularity: Granularity | None = Field(
        None, description="Time dimensions only: the finest grain of the column (default: day)."
    )
    expr: str | None = Field(None, description="Column or SQL expression; default: the dimension's name.")
    label: str | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _grain_on_time_only(self) -> DimensionSpec:
        if self.granularity is not None and self.type != "time":
            raise ValueError("`granularity` applies to `type: time` dimensions only")
        return self


class MeasureSpec(_Spec):
    """An aggregation over the asset's rows."""

    agg: Aggregation = Field(description="sum | count | count_distinct | avg | min | max.")
    expr: str | None = Field(
        None,
        description="Column or SQL expression aggregated; default: the measure's name ('1' to count rows).",
    )
    label: str | None = None
    description: str | None = None


class SemanticSpec(_Spec):
    """What an asset's rows mean: compiled into a MetricFlow semantic model named like the asset."""

    description: str | None = None
    primary_entity: str | None = Field(
        None,
        description="What one row is, when no entity has `type: primary` (default: the asset name).",
    )
    time_dimension: str | None = Field(
        None, description="Time dimension that measures aggregate over (default: the only time dimension)."
    )
    entities: dict[str, EntitySpec] = Field(default_factory=dict)
    dimensions: dict[str, DimensionSpec] = Field(default_factory=dict)
    measures: dict[str, MeasureSpec] = Field(default_factory=dict)


class MetricSpec(_Spec):
    """A metric people ask for, over the measures of the file's (or any) assets."""

    type: MetricType = Field("simple", description="simple | ratio | derived | cumulative.")
    label: str | None = Field(None, description="Human name, e.g. 'Cancellation rate'.")
    description: str | None = None
    measure: str | None = Field(None, description="simple, cumulative: the measure aggregated.")
    numerator: str | None = Field(None, description="ratio: a metric (or measure) name.")
    denominator: str | None = Field(None, description="ratio: a metric (or measure) name.")
    expr: str | None = Field(None, description="derived: an expression over other metrics, e.g. `a - b`.")
    metrics: list[str] = Field(
        default_factory=list, description="derived: the metrics `expr` uses (default: the names in `expr`)."
    )
    window: str | None = Field(None, description="cumulative: a trailing window, e.g. '7 days'.")
    grain_to_date: Granularity | None = Field(None, description="cumulative: restart each week/month/...")
    filter: str | None = Field(None, description="A predicate over dimension names, e.g. \"origin = 'JFK'\".")

    @model_validator(mode="after")
    def _fields_for_type(self) -> MetricSpec:
        needed = {
            "simple": ("measure",),
            "cumulative": ("measure",),
            "ratio": ("numerator", "denominator"),
            "derived": ("expr",),
        }[self.type]
        missing = [f for f in needed if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.type} metric needs `{'`, `'.join(missing)}`")
        allowed = {
            "simple": {"measure"},
            "cumulative": {"measure", "window", "grain_to_date"},
            "ratio": {"numerator", "denominator"},
            "derived": {"expr", "metrics"},
        }[self.type]
        extra = [
            f
            for f in ("measure", "numerator", "denominator", "expr", "window", "grain_to_date")
            if getattr(self, f) is not None and f not in allowed
        ]
        if self.metrics and "metrics" not in allowed:
            extra.append("metrics")
        if extra:
            raise ValueError(f"`{'`, `'.join(extra)}` does not apply to a {self.type} metric")
        if self.window and self.grain_to_date:
            raise ValueError("set either `window` or `grain_to_date`, not both")
        return self
