"""Check entries of the spec language.

A check is written as a one-key mapping (``{unique: order_id}``), optionally with
``severity``, ``name`` and ``description`` beside the kind key, or as a bare kind name in a
column's check list (``checks: [unique, not_null]``). :class:`CheckEntry` accepts every form;
:meth:`CheckEntry.kind` and :meth:`CheckEntry.args` give the normalized view.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datacody_dagster.spec.check_args import (
    AcceptedValuesArgs,
    DistributionArgs,
    DriftArgs,
    DuplicatesArgs,
    FreshnessArgs,
    NullFractionArgs,
    RangeArgs,
    RegexArgs,
    RelationshipsArgs,
    RowCountAnomalyArgs,
    RowCountArgs,
    ScanArgs,
)
from datacody_dagster.spec.check_kinds import CHECK_KINDS, KINDS
from datacody_dagster.spec.names import Name

__all__ = ["CHECK_KINDS", "CheckEntry", "CheckSeverity", "ColumnList"]

CheckSeverity = Literal["error", "warn"]


# `True` is the bare form under `columns:` (`checks: [unique]`): the column is implied.
ColumnList = Name | list[Name] | bool


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
    null_fraction: NullFractionArgs | None = None
    distribution: DistributionArgs | None = None

    severity: CheckSeverity = Field(
        "error", description="`error` blocks downstream assets and fails CI; `warn` only reports."
    )
    name: str | None = Field(None, description="Check name shown in Dagster (default: derived).")
    description: str | None = None
    schedule: str | None = Field(
        None,
        description="Cron: also run this check on its own on this schedule, on the current output "
        "(e.g. freshness every hour without rebuilding the asset).",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_kind(cls, data: Any) -> Any:
        # `checks: [unique, not_null]` under a column: a bare kind name with no arguments.
        if isinstance(data, str):
            return {data: KINDS[data].bare_value if data in KINDS else True}
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
