"""Check entries of the spec language.

A check is written as a one-key mapping (``{unique: order_id}``), optionally with
``severity``, ``name`` and ``description`` beside the kind key, or as a bare kind name in a
column's check list (``checks: [unique, not_null]``). :class:`CheckEntry` accepts every form;
:meth:`CheckEntry.kind` and :meth:`CheckEntry.args` give the normalized view.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CheckSeverity = Literal["error", "warn"]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AcceptedValuesArgs(_Args):
    column: str | None = Field(None, description="Column to check (implied under `columns:`).")
    values: list[Any] = Field(description="The only values allowed; nulls are not judged.")


class RangeArgs(_Args):
    column: str | None = Field(None, description="Column to check (implied under `columns:`).")
    min: float | None = Field(None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(None, description="Largest allowed value (inclusive).")


class RegexArgs(_Args):
    column: str | None = Field(None, description="Column to check (implied under `columns:`).")
    pattern: str = Field(description="Regular expression every non-null value must match fully.")


class RelationshipsArgs(_Args):
    column: str | None = Field(None, description="Foreign-key column (implied under `columns:`).")
    to: str = Field(description="Asset or source holding the referenced key.")
    field: str = Field(description="Key column in the referenced asset.")


class RowCountArgs(_Args):
    min: int | None = Field(None, description="Fewest rows allowed.")
    max: int | None = Field(None, description="Most rows allowed.")


class FreshnessArgs(_Args):
    column: str | None = Field(None, description="Timestamp or date column.")
    max_age: str = Field(description="Largest allowed age of the newest value, e.g. `2d`, `6h`.")


Seasonality = Literal["auto", "none", "weekday"]


class _Calibrated(_Args):
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


class DriftArgs(_Calibrated):
    column: str | None = Field(None, description="Column whose distribution is compared.")
    threshold: float | None = Field(
        None,
        gt=0,
        description="PSI (numbers) or total-variation (text) limit; unset, it is learned from the "
        "scores between past batches (0.2 until the history is long enough).",
    )


class RowCountAnomalyArgs(_Calibrated):
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


class DistributionArgs(_Calibrated):
    column: str | None = Field(None, description="Column whose per-batch statistics are compared.")
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
    column: str | None = Field(None, description="Column to check (implied under `columns:`).")
    max: float = Field(ge=0, le=1, description="Largest allowed fraction of null values.")


class ScanArgs(_Args):
    columns: list[str] | None = Field(None, description="Text columns to scan (default: all).")
    max_rate: float = Field(0.0, description="Largest allowed fraction of flagged rows.")


class DuplicatesArgs(_Args):
    column: str | None = Field(None, description="Text column compared.")
    method: Literal["exact", "minhash"] = "exact"
    threshold: float = Field(0.8, description="Jaccard similarity for near-duplicates.")
    max_rate: float = Field(0.0, description="Largest allowed fraction of duplicate rows.")


# `True` is the bare form under `columns:` (`checks: [unique]`): the column is implied.
ColumnList = str | list[str] | bool

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
    "null_fraction",
    "distribution",
)


# Kinds whose arguments all have defaults: a bare name means "with the defaults".
_ARGS_ONLY_KINDS = frozenset(
    {"pii", "secrets", "drift", "row_count_anomaly", "duplicates", "row_count", "distribution"}
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
    schema_: dict[str, str] | None = Field(
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

    @model_validator(mode="before")
    @classmethod
    def _bare_kind(cls, data: Any) -> Any:
        # `checks: [unique, not_null]` under a column: a bare kind name with no arguments.
        if isinstance(data, str):
            if data in _ARGS_ONLY_KINDS:
                return {data: {}}
            return {data: True}
        return data

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
