"""The check-kind registry: one record per kind, and every list of kinds as a query of it.

A record says how a kind is written (its argument model, its bare form), how it is evaluated
(row-level predicate, key-level, table-level; which engines; whether it needs history; whether a
verdict may be reused on unchanged data), what dbt test it emits, and how its failures are
explained. Adding a kind is one record here plus its evaluator and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from datacody_dagster.spec import check_args as a

Level = Literal["row", "key", "table"]
"""`row`: a predicate per row (shares one aggregate pass); `key`: groups or joins on key columns;
`table`: a verdict on the whole table, its metadata or its history."""

Bare = Literal["column", "defaults"]
"""What a bare kind name in a check list means: the implied column (`checks: [unique]` under a
column), or the argument model's defaults (`checks: [pii]`)."""

DUCKDB_ONLY = frozenset({"duckdb"})
BOTH_ENGINES = frozenset({"duckdb", "spark"})


@dataclass(frozen=True)
class CheckKind:
    """Everything the pipeline needs to know about one check kind."""

    name: str
    args: type[BaseModel]
    """The arguments as planned (`PlannedCheck.params`); the spec's mapping form when it has one."""
    level: Level
    fails_as: str
    """The failure reason shown on a failed check; `{...}` fields come from the arguments."""
    bare: Bare | None = None
    dbt_test: str | None = None
    """dbt's built-in generic test of the same meaning (emitted in schema.yml), if any."""
    engines: frozenset[str] = DUCKDB_ONLY
    """Engines that evaluate the kind natively; other engines' outputs are checked on DuckDB."""
    needs_history: bool = False
    cacheable: bool = True
    """False when the verdict depends on the clock, on history or on other tables."""
    training: bool = False
    """A training-data scan (PII, secrets, duplicates) evaluated by the steps' scanners."""
    reason_shows_values: bool = False
    """Failing values from the sample are appended to the failure reason."""
    likely_cause: str = "unknown"

    def failure_reason(self, args: BaseModel | dict[str, Any]) -> str:
        """The one-line reason of a failure (stable: repeated failures are grouped by it)."""
        plain = args.model_dump(exclude_none=True) if isinstance(args, BaseModel) else args
        return self.fails_as.format_map(_Missing(plain))

    @property
    def bare_value(self) -> Any:
        """What the bare name stands for in the spec's mapping form."""
        return {} if self.bare == "defaults" else True


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


_ROWS_DROPPED = "a source delivered a partial file, or a filter/join drops rows"

KINDS: dict[str, CheckKind] = {
    k.name: k
    for k in (
        CheckKind(
            "not_null",
            a.ColumnsArgs,
            "row",
            "null values",
            bare="column",
            dbt_test="not_null",
            engines=BOTH_ENGINES,
            likely_cause="an upstream column started emitting nulls (a new outer join, a missing "
            "default, or a source field that is now optional)",
        ),
        CheckKind(
            "unique",
            a.ColumnsArgs,
            "key",
            "duplicate keys",
            bare="column",
            dbt_test="unique",
            engines=BOTH_ENGINES,
            likely_cause="a join fans out: the joined key is not unique upstream, or a source "
            "re-delivers rows",
        ),
        CheckKind(
            "accepted_values",
            a.AcceptedValuesArgs,
            "row",
            "unexpected values",
            dbt_test="accepted_values",
            engines=BOTH_ENGINES,
            reason_shows_values=True,
            likely_cause="a new category appeared upstream; add it to `values` if it is legitimate",
        ),
        CheckKind(
            "range",
            a.RangeArgs,
            "row",
            "values out of range",
            engines=BOTH_ENGINES,
            reason_shows_values=True,
            likely_cause="a unit or sign change upstream, or sentinel values (e.g. -1, 9999) for "
            "missing data",
        ),
        CheckKind(
            "regex",
            a.RegexArgs,
            "row",
            "values not matching the pattern",
            engines=BOTH_ENGINES,
            reason_shows_values=True,
            likely_cause="the format of the field changed upstream",
        ),
        CheckKind(
            "relationships",
            a.RelationshipsArgs,
            "key",
            "keys missing in {to}",
            dbt_test="relationships",
            engines=BOTH_ENGINES,
            reason_shows_values=True,
            likely_cause="the referenced asset is stale or filtered: materialize it first, or keys "
            "arrive before their parent rows",
        ),
        CheckKind(
            "row_count",
            a.RowCountArgs,
            "table",
            "row count out of bounds",
            bare="defaults",
            engines=BOTH_ENGINES,
            likely_cause=_ROWS_DROPPED,
        ),
        CheckKind(
            "freshness",
            a.FreshnessArgs,
            "table",
            "stale data",
            cacheable=False,
            likely_cause="the schedule or the upstream feed stopped",
        ),
        CheckKind("expression", a.ExpressionArgs, "row", "expression failed", engines=BOTH_ENGINES),
        CheckKind("sql", a.SqlArgs, "table", "sql failed", engines=BOTH_ENGINES, cacheable=False),
        CheckKind(
            "schema",
            a.SchemaArgs,
            "table",
            "schema mismatch",
            likely_cause="the upstream schema changed; update the contract or the SQL",
        ),
        CheckKind(
            "drift",
            a.DriftArgs,
            "table",
            "drift failed",
            bare="defaults",
            needs_history=True,
            cacheable=False,
            likely_cause="the population changed upstream (a new segment, a unit change, or a broken feed)",
        ),
        CheckKind(
            "row_count_anomaly",
            a.RowCountAnomalyArgs,
            "table",
            "row_count_anomaly failed",
            bare="defaults",
            needs_history=True,
            cacheable=False,
            likely_cause=_ROWS_DROPPED,
        ),
        CheckKind(
            "null_fraction",
            a.NullFractionArgs,
            "table",
            "null fraction above {max}",
            likely_cause="an upstream join or feed started leaving the column empty",
        ),
        CheckKind(
            "distribution",
            a.DistributionArgs,
            "table",
            "statistics outside their learned band",
            bare="defaults",
            needs_history=True,
            cacheable=False,
            likely_cause="a unit change, a shifted feed or outliers upstream",
        ),
        CheckKind("pii", a.ScanArgs, "table", "pii failed", bare="defaults", training=True),
        CheckKind("secrets", a.ScanArgs, "table", "secrets failed", bare="defaults", training=True),
        CheckKind(
            "duplicates", a.DuplicatesArgs, "table", "duplicates failed", bare="defaults", training=True
        ),
    )
}

CHECK_KINDS: tuple[str, ...] = tuple(KINDS)


def kind_info(name: str) -> CheckKind:
    """The record of a kind; ValueError naming the known kinds for any other name."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown check kind {name!r}; kinds: {', '.join(CHECK_KINDS)}") from None


def kinds_where(predicate: Callable[[CheckKind], bool]) -> frozenset[str]:
    """Names of the kinds whose record satisfies ``predicate``."""
    return frozenset(k.name for k in KINDS.values() if predicate(k))


ROW_PREDICATE_KINDS = kinds_where(lambda k: k.level == "row")
HISTORY_KINDS = kinds_where(lambda k: k.needs_history)
TRAINING_KINDS = kinds_where(lambda k: k.training)
UNCACHEABLE_KINDS = kinds_where(lambda k: not k.cacheable)
DBT_TEST_KINDS = kinds_where(lambda k: k.dbt_test is not None)
