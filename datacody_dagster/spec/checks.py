"""Check entries of the spec language.

A check is written as a one-key mapping (``{unique: order_id}``), optionally with
``severity``, ``name`` and ``description`` beside the kind key, or as a bare kind name in a
column's check list (``checks: [unique, not_null]``). :class:`CheckEntry` accepts every form;
:meth:`CheckEntry.kind` and :meth:`CheckEntry.args` give the normalized view.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datacody_dagster.spec.names import Name

CheckSeverity = Literal["error", "warn"]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AcceptedValuesArgs(_Args):
    column: Name | None = Field(None, description="Column to check (implied under `columns:`).")
    values: list[str | int | float | bool | None] = Field(
        description="The only values allowed; nulls are not judged."
    )


class RangeArgs(_Args):
    column: Name | None = Field(None, description="Column to check (implied under `columns:`).")
    min: float | None = Field(None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(None, description="Largest allowed value (inclusive).")


class RegexArgs(_Args):
    column: Name | None = Field(None, description="Column to check (implied under `columns:`).")
    pattern: str = Field(description="Regular expression every non-null value must match fully.")


class RelationshipsArgs(_Args):
    column: Name | None = Field(None, description="Foreign-key column (implied under `columns:`).")
    to: Name = Field(description="Asset or source holding the referenced key.")
    field: Name = Field(description="Key column in the referenced asset.")


class RowCountArgs(_Args):
    min: int | None = Field(None, description="Fewest rows allowed.")
    max: int | None = Field(None, description="Most rows allowed.")


class FreshnessArgs(_Args):
    column: Name | None = Field(None, description="Timestamp or date column.")
    max_age: str = Field(description="Largest allowed age of the newest value, e.g. `2d`, `6h`.")


class DriftArgs(_Args):
    column: Name | None = Field(None, description="Column whose distribution is compared.")
    threshold: float = Field(0.2, description="PSI (numbers) or total-variation (text) limit.")


class RowCountAnomalyArgs(_Args):
    threshold: float = Field(3.5, description="Robust z-score above which the count is anomalous.")
    window: int = Field(10, description="How many past materializations form the baseline.")


class ScanArgs(_Args):
    columns: list[Name] | None = Field(None, description="Text columns to scan (default: all).")
    max_rate: float = Field(0.0, description="Largest allowed fraction of flagged rows.")


class DuplicatesArgs(_Args):
    column: Name | None = Field(None, description="Text column compared.")
    method: Literal["exact", "minhash"] = "exact"
    threshold: float = Field(0.8, description="Jaccard similarity for near-duplicates.")
    max_rate: float = Field(0.0, description="Largest allowed fraction of duplicate rows.")


# `True` is the bare form under `columns:` (`checks: [unique]`): the column is implied.
ColumnList = Name | list[Name] | bool

CHECK_KINDS: tuple[str, ...] = (
    "not_null",
    "unique",
    "accepted_values",
    "range",
    "regex",
    "relationships",
    "row_count",
    "freshness",
    "expression",
    "sql",
    "schema",
    "drift",
    "row_count_anomaly",
    "pii",
    "secrets",
    "duplicates",
)


class CheckEntry(BaseModel):
    """One check. Exactly one kind key must be set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    not_null: ColumnList | None = Field(None, description="Columns that must never be null.")
    unique: ColumnList | None = Field(
        None, description="A column, or a list of columns forming a key, with no repeated value."
    )
    accepted_values: AcceptedValuesArgs | None = None
    range: RangeArgs | None = None
    regex: RegexArgs | None = None
    relationships: RelationshipsArgs | None = None
    row_count: RowCountArgs | None = None
    freshness: FreshnessArgs | None = None
    expression: str | None = Field(None, description="A SQL predicate every row must satisfy.")
    sql: str | None = Field(None, description="A SELECT returning the failing rows.")
    schema_: dict[Name, str] | None = Field(
        None, alias="schema", description="Expected columns and their types."
    )
    drift: DriftArgs | None = None
    row_count_anomaly: RowCountAnomalyArgs | None = None
    pii: ScanArgs | None = None
    secrets: ScanArgs | None = None
    duplicates: DuplicatesArgs | None = None

    severity: CheckSeverity = Field(
        "error", description="`error` blocks downstream assets and fails CI; `warn` only reports."
    )
    name: str | None = Field(None, description="Check name shown in Dagster (default: derived).")
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_kind(cls, data: Any) -> Any:
        # `checks: [unique, not_null]` under a column: a bare kind name with no arguments.
        if isinstance(data, str):
            if data in {"pii", "secrets", "drift", "row_count_anomaly", "duplicates", "row_count"}:
                return {data: {}}
            return {data: True}
        return data

    @field_validator("not_null", "unique", mode="before")
    @classmethod
    def _some_columns(cls, value: Any) -> Any:
        # `unique: false`, `0` or `[]` would check nothing (and `0` is not a column).
        if value is False or value == [] or (isinstance(value, (int, float)) and value is not True):
            raise ValueError("name a column or a list of columns (e.g. `unique: order_id`)")
        return value

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> CheckEntry:
        set_kinds = [k for k in CHECK_KINDS if self._raw(k) is not None]
        if len(set_kinds) != 1:
            found = ", ".join(set_kinds) or "none"
            raise ValueError(
                f"a check needs exactly one kind key (found: {found}); kinds: {', '.join(CHECK_KINDS)}"
            )
        return self

    def _raw(self, kind: str) -> Any:
        return getattr(self, "schema_" if kind == "schema" else kind)

    @property
    def kind(self) -> str:
        return next(k for k in CHECK_KINDS if self._raw(k) is not None)

    @property
    def value(self) -> Any:
        """The kind's argument as written (a column list, an args model, a string...)."""
        return self._raw(self.kind)
