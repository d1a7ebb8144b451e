"""Table-level checks: `schema` (columns and types) and `sql` (a query returning failing rows)."""

from __future__ import annotations

import re

import duckdb

from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.sqltext import ident
from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.engines.duckdb_types import INTEGER_TYPES
from datacody_dagster.spec.check_args import NullFractionArgs, SchemaArgs, SqlArgs

# Spec type names people write, by the DuckDB types they accept. Generic names accept a family.
_FAMILIES: dict[str, set[str]] = {
    "integer": set(INTEGER_TYPES),
    "int": {"INTEGER"},
    "int4": {"INTEGER"},
    "bigint": {"BIGINT"},
    "int8": {"BIGINT"},
    "long": {"BIGINT"},
    "smallint": {"SMALLINT"},
    "tinyint": {"TINYINT"},
    "hugeint": {"HUGEINT"},
    "number": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"},
    "numeric": {"DECIMAL", "DOUBLE"},
    "decimal": {"DECIMAL"},
    "float": {"FLOAT", "DOUBLE"},
    "real": {"FLOAT"},
    "double": {"DOUBLE"},
    "varchar": {"VARCHAR"},
    "text": {"VARCHAR"},
    "string": {"VARCHAR"},
    "boolean": {"BOOLEAN"},
    "bool": {"BOOLEAN"},
    "date": {"DATE"},
    "timestamp": {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"},
    "timestamptz": {"TIMESTAMP WITH TIME ZONE"},
    "time": {"TIME"},
    "blob": {"BLOB"},
    "uuid": {"UUID"},
}


def _base(duck_type: str) -> str:
    return re.sub(r"\(.*\)$", "", duck_type.strip().upper())


def type_matches(expected: str, actual: str) -> bool:
    """Whether a DuckDB type satisfies a spec type (``integer`` accepts any integer width)."""
    exp_key = expected.strip().lower()
    base_key = re.sub(r"\(.*\)$", "", exp_key)
    family = _FAMILIES.get(exp_key) or _FAMILIES.get(base_key)
    if family is not None and "(" not in exp_key:
        return _base(actual) in family
    return expected.strip().upper().replace(" ", "") == actual.strip().upper().replace(" ", "")


def schema_outcome(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    actual = ctx.schema
    expected: dict[str, str] = dict(check.params_as(SchemaArgs).columns_types)
    problems: list[dict[str, str | None]] = []
    lower = {k.lower(): v for k, v in actual.items()}
    for col, typ in expected.items():
        got = actual.get(col, lower.get(col.lower()))
        if got is None:
            problems.append({"column": col, "expected": typ, "actual": None})
        elif typ and not type_matches(typ, got):
            problems.append({"column": col, "expected": typ, "actual": got})
    return CheckOutcome(
        check,
        not problems,
        len(problems),
        len(expected),
        problems[:5],
        query=f"describe select * from {ctx.target.relation}",
        metadata={"actual_schema": actual, "mismatches": problems},
    )


def render_check_sql(ctx: EvalContext, check: PlannedCheck) -> str:
    """The user's SELECT with asset names replaced by their relations (``this`` = the asset)."""
    parsed = sqlmod.parse_select(check.params_as(SqlArgs).sql)
    if isinstance(parsed, sqlmod.SqlProblem):
        raise ValueError(parsed.message)
    target = ctx.target

    def render(name: str) -> str | None:
        if name in {target.asset, "this"}:
            return target.relation
        if target.resolve is not None:
            try:
                return target.resolve(name)
            except Exception:
                return None
        return None

    return sqlmod.rewrite_table_refs(parsed, render)


def sql_outcome(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    try:
        query = render_check_sql(ctx, check)
    except ValueError as exc:
        return CheckOutcome(check, False, query=check.params_as(SqlArgs).sql, error=str(exc))
    try:
        row = ctx.con.execute(f"select count(*) from ({query})").fetchone()
        assert row is not None
        failing = int(row[0])
        sample = ctx.sample(query) if failing else []
    except duckdb.Error as exc:
        return CheckOutcome(check, False, query=query, error=str(exc).splitlines()[0])
    return CheckOutcome(
        check, failing == 0, failing, ctx.row_count, sample, query, metadata={"method": "query"}
    )


def null_fraction_outcome(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    """`null_fraction`: the share of nulls in a column stays at or under ``max``."""
    args = check.params_as(NullFractionArgs)
    column = args.column
    if not column:
        return CheckOutcome(check, False, error="null_fraction needs a `column` (or sit under `columns:`)")
    c = ident(column)
    row = ctx.con.execute(f"select count(*), count(*) - count({c}) from {ctx.target.relation}").fetchall()[0]
    total, nulls = int(row[0]), int(row[1])
    fraction = nulls / total if total else 0.0
    limit = float(args.max)
    meta = {"method": "aggregate_scan", "null_fraction": round(fraction, 6), "threshold": limit}
    return CheckOutcome(
        check,
        fraction <= limit,
        nulls if fraction > limit else 0,
        total,
        query=f"select * from {ctx.target.relation} where {c} is null",
        metadata=meta,
    )
