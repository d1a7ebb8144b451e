"""Argument models of the check kinds that take a mapping (``{range: {column: x, min: 0}}``).

Each model checks what can be checked without data (durations, regular expressions, bounds,
rates), so `validate` reports a bad argument at its line instead of the check failing at run time.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datacody_dagster.spec.durations import parse_duration
from datacody_dagster.spec.names import Name

_COLUMN = "Column to check (implied under `columns:`)."


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class DriftArgs(_Args):
    column: Name | None = Field(None, description="Column whose distribution is compared.")
    threshold: float = Field(0.2, gt=0, description="PSI (numbers) or total-variation (text) limit.")


class RowCountAnomalyArgs(_Args):
    threshold: float = Field(3.5, gt=0, description="Robust z-score above which the count is anomalous.")
    window: int = Field(10, ge=1, description="How many past materializations form the baseline.")


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

    columns: list[str]
    column: Name | None = None


class ExpressionArgs(_Args):
    expression: str = Field(description="A SQL predicate every row must satisfy.")


class SqlArgs(_Args):
    sql: str = Field(description="A SELECT returning the failing rows.")


class SchemaArgs(_Args):
    columns_types: dict[str, str] = Field(description="Expected columns and their types.")
