"""SQL text of the row-level checks: the predicate a failing row satisfies, and the query a
person can paste into DuckDB to see the failing rows.

Null handling follows dbt's generic tests so verdicts agree: only `not_null` judges nulls.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datacody_dagster.checks.key_queries import duplicate_keys_query, orphan_rows_query
from datacody_dagster.checks.predicates import failing_predicate_sql
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.errors import DatacodyError, Diagnostic
from datacody_dagster.spec.check_args import FreshnessArgs
from datacody_dagster.spec.check_kinds import ROW_PREDICATE_KINDS
from datacody_dagster.spec.durations import DURATION_HINT, parse_duration


def ident(name: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A DuckDB literal for a YAML scalar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def parse_age(text: str) -> timedelta:
    """``2d`` / ``6h`` / ``30m`` / ``1w`` / ``45s`` as a timedelta."""
    try:
        return parse_duration(text)
    except ValueError:
        raise DatacodyError(
            Diagnostic("DC300", f"cannot read max_age {text!r}", hint=DURATION_HINT)
        ) from None


def failing_predicate(check: PlannedCheck) -> str:
    """DuckDB SQL boolean that is true exactly for the rows the check rejects."""
    return failing_predicate_sql(check, "duckdb")


def failing_rows_query(check: PlannedCheck, relation: str, ref_relation: str | None = None) -> str:
    """A query returning the failing rows (or failing keys) of one check."""
    if check.kind in ROW_PREDICATE_KINDS:
        return f"select * from {relation} where {failing_predicate(check)}"
    if check.kind == "unique":
        return duplicate_keys_query(check, relation, "duckdb")
    if check.kind == "relationships":
        return orphan_rows_query(check, relation, str(ref_relation), "duckdb")
    if check.kind == "freshness":
        args = check.params_as(FreshnessArgs)
        seconds = int(parse_age(args.max_age).total_seconds())
        newest = f"max({ident(args.column or '')})"
        limit = f"now() - interval '{seconds} seconds'"
        return f"select {newest} as newest, {limit} as oldest_allowed from {relation}"
    return f"select count(*) from {relation}"
