"""Argument models of the check kinds that take a mapping (``{range: {column: x, min: 0}}``).

Each model checks what can be checked without data (durations, regular expressions, bounds,
rates), so `validate` reports a bad argument at its line instead of the check failing at run time.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datacody_dagster.spec.durations import parse_duration
from datacody_dagster.spec.names import Name

_COLUMN = "Column to check (implied under `columns:`)."


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_dict(self) -> dict[str, Any]:
        """The arguments as plain data without unset (None) fields: fingerprints, caches, JSON."""
        return self.model_dump(exclude_none=True)


def _ordered(low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(f"min ({low}) is larger than max ({high}): swap them")


class AcceptedValuesArgs(_Args):
    column: Name | None = Field(None, description=_COLUMN)
    values: list[str | int | float | bool | None] = Field(
        description="The only values allowed (scalars); nulls are not judged."
    )


class RangeArgs(_Args):
    column: Name | None = Field(None, description=_COLUMN)
    min: float | None = Field(None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(None, description="Largest allowed value (inclusive).")

    @model_validator(mode="after")
    def _bounds(self) -> RangeArgs:
        _ordered(self.min, self.max)
        return self


class RegexArgs(_Args):
    column: Name | None = Field(None, description=_COLUMN)
    pattern: str = Field(description="Regular expression every non-null value must match fully.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        # Python's parser stands in for the engines' (RE2 on DuckDB, Java on Spark): structural
        # errors (an unclosed group or set, nothing to repeat) are errors everywhere, but escapes
        # such as \z or \p{L} are valid there and unknown to Python, so those are let through.
        try:
            re.compile(pattern)
        except re.error as exc:
            if not str(exc).startswith("bad escape"):
                raise ValueError(f"not a regular expression: {exc}") from exc
        return pattern


class RelationshipsArgs(_Args):
    column: Name | None = Field(None, description="Foreign-key column (implied under `columns:`).")
    to: Name = Field(description="Asset or source holding the referenced key.")
    field: Name = Field(description="Key column in the referenced asset.")


class RowCountArgs(_Args):
    min: int | None = Field(None, ge=0, description="Fewest rows allowed.")
    max: int | None = Field(None, ge=0, description="Most rows allowed.")

    @model_validator(mode="after")
    def _bounds(self) -> RowCountArgs:
        _ordered(self.min, self.max)
        return self


class FreshnessArgs(_Args):
    column: Name | None = Field(None, description="Timestamp or date column.")
    max_age: str = Field(description="Largest allowed age of the newest value, e.g. `2d`, `6h`.")

    @field_validator("max_age")
    @classmethod
    def _duration(cls, max_age: str) -> str:
        parse_duration(max_age)
        return max_age


Seasonality = Literal["auto", "none", "weekday"]


class CalibratedArgs(_Args):
    """Arguments of checks whose thresholds are learned from the asset's own history."""

    max_false_alarm_rate: float = Field(
        0.01,
        gt=0,
        lt=0.5,
        description="False-alarm budget: the learned tolerance keeps the estimated rate under it.",
    )
    seasonality: Seasonality = Field(
        "auto",
        description="Compare with past materializations of the same weekday (`weekday`), never "
        "(`none`), or when history shows a weekly pattern (`auto`).",
    )
    window: int = Field(60, ge=3, le=1000, description="How many past materializations are read.")


class DriftArgs(CalibratedArgs):
    column: Name | None = Field(None, description="Column whose distribution is compared.")
    threshold: float | None = Field(
        None,
        gt=0,
        description="PSI (numbers) or total-variation (text) limit; unset, it is learned from the "
        "scores between past batches (0.2 until the history is long enough).",
    )


class RowCountAnomalyArgs(CalibratedArgs):
    threshold: float | None = Field(
        None,
        gt=0,
        description="A fixed robust z-score limit; unset, the limit is learned from history.",
    )
    min_tolerance: float = Field(
        0.1, ge=0, description="Smallest relative deviation from the baseline that may fire."
    )


DistributionMetric = Literal[
    "mean", "p10", "p50", "p90", "spread", "min", "max", "null_fraction", "distinct_fraction"
]

_DEFAULT_METRICS: tuple[DistributionMetric, ...] = ("mean", "p50", "null_fraction")


class DistributionArgs(CalibratedArgs):
    column: Name | None = Field(None, description="Column whose per-batch statistics are compared.")
    metrics: list[DistributionMetric] = Field(
        default_factory=lambda: list(_DEFAULT_METRICS),
        min_length=1,
        description="Statistics compared with their history (quantiles are approximate; "
        "`spread` is p90 - p10).",
    )
    min_tolerance: float = Field(
        0.05,
        ge=0,
        description="Smallest deviation that may fire, as a fraction of the column's typical spread.",
    )


class NullFractionArgs(_Args):
    column: Name | None = Field(None, description="Column to check (implied under `columns:`).")
    max: float = Field(ge=0, le=1, description="Largest allowed fraction of null values.")


class ScanArgs(_Args):
    columns: list[Name] | None = Field(None, description="Text columns to scan (default: all).")
    max_rate: float = Field(0.0, ge=0, le=1, description="Largest allowed fraction of flagged rows.")


class DuplicatesArgs(_Args):
    column: Name | None = Field(None, description="Text column compared.")
    method: Literal["exact", "minhash"] = "exact"
    threshold: float = Field(0.8, gt=0, le=1, description="Jaccard similarity for near-duplicates.")
    max_rate: float = Field(0.0, ge=0, le=1, description="Largest allowed fraction of duplicate rows.")


# The kinds written as a scalar or list keep their arguments typed through the plan as well.


class ColumnsArgs(_Args):
    """`not_null` (one column per planned check) and `unique` (a key of one or more columns)."""

    columns: list[str] = Field(default_factory=list)
    column: Name | None = None

    @model_validator(mode="after")
    def _key(self) -> ColumnsArgs:
        if not self.columns and self.column:
            object.__setattr__(self, "columns", [self.column])
        if not self.columns:
            raise ValueError("name a column or a list of columns")
        return self


class ExpressionArgs(_Args):
    expression: str = Field(description="A SQL predicate every row must satisfy.")


class SqlArgs(_Args):
    sql: str = Field(description="A SELECT returning the failing rows.")


class SchemaArgs(_Args):
    columns_types: dict[str, str] = Field(description="Expected columns and their types.")


CheckArgs = (
    AcceptedValuesArgs
    | RangeArgs
    | RegexArgs
    | RelationshipsArgs
    | RowCountArgs
    | FreshnessArgs
    | DriftArgs
    | RowCountAnomalyArgs
    | DistributionArgs
    | NullFractionArgs
    | ScanArgs
    | DuplicatesArgs
    | ColumnsArgs
    | ExpressionArgs
    | SqlArgs
    | SchemaArgs
)
"""The typed arguments of any planned check (`PlannedCheck.args`)."""
