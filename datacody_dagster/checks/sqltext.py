"""SQL text of the row-level checks: the predicate a failing row satisfies, and the query a
person can paste into DuckDB to see the failing rows.

Null handling follows dbt's generic tests so verdicts agree: only `not_null` judges nulls.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datacody_dagster.checks.predicates import failing_predicate_sql
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.errors import DatacodyError, Diagnostic
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
    args = check.args
    if check.kind in ROW_PREDICATE_KINDS:
        return f"select * from {relation} where {failing_predicate(check)}"
    if check.kind == "unique":
        cols = ", ".join(ident(c) for c in args["columns"])
        where = f" where {ident(args['columns'][0])} is not null" if len(args["columns"]) == 1 else ""
        return f"select {cols}, count(*) as n from {relation}{where} group by all having count(*) > 1"
    if check.kind == "relationships":
        col, field = ident(args["column"]), ident(args["field"])
        return (
            f"select * from {relation} as child where child.{col} is not null and not exists "
            f"(select 1 from {ref_relation} as parent where parent.{field} = child.{col})"
        )
    if check.kind == "freshness":
        age = parse_age(args["max_age"])
        seconds = int(age.total_seconds())
        newest = f"max({ident(args['column'])})"
        limit = f"now() - interval '{seconds} seconds'"
        return f"select {newest} as newest, {limit} as oldest_allowed from {relation}"
    return f"select count(*) from {relation}"
