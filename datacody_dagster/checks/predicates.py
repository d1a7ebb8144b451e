"""The failing-row predicate of each row-level check, built once as a sqlglot expression and
rendered per dialect (DuckDB, Spark). Quoting and literals go through sqlglot.

Null handling follows dbt's generic tests so verdicts agree: only `not_null` judges nulls, and a
null `expression` result is not a failure. The one real dialect difference is `regex`'s full
match, an explicit override below.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import (
    AcceptedValuesArgs,
    ColumnsArgs,
    ExpressionArgs,
    RangeArgs,
    RegexArgs,
)

Dialect = str  # "duckdb" | "spark"


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _not_null_and(col: exp.Expression, failing: exp.Expression) -> exp.Expression:
    return exp.paren(exp.and_(exp.not_(col.is_(exp.null())), exp.not_(failing)))


def _full_match(text: exp.Expression, pattern: str, dialect: Dialect) -> exp.Expression:
    if dialect == "spark":
        # RE2's full match in Java terms: anchored at both ends (\z, not $, which also matches
        # before a final newline), and (?d) so only \n ends a line, as in RE2.
        return exp.RegexpLike(this=text, expression=exp.Literal.string(f"(?d)\\A(?:{pattern})\\z"))
    return exp.Anonymous(this="regexp_full_match", expressions=[text, exp.Literal.string(pattern)])


def failing_condition(check: PlannedCheck, dialect: Dialect) -> exp.Expression:
    """The boolean expression true exactly for the rows ``check`` rejects, for ``dialect``."""
    args = check.args
    column = getattr(args, "column", None)
    col = _column(column) if column else exp.null()
    match args:
        case ColumnsArgs() if check.kind == "not_null":
            return col.is_(exp.null())
        case AcceptedValuesArgs():
            values = list(args.values)
            # dbt quotes the values and compares as text; casting avoids cast errors on numbers.
            textual = bool(values) and all(isinstance(v, str) for v in values)
            lhs = exp.cast(col, "text") if textual else col
            items = [exp.convert(v) for v in values] or [exp.null()]
            return _not_null_and(col, exp.In(this=lhs, expressions=items))
        case RangeArgs():
            parts: list[exp.Expression] = []
            if args.min is not None:
                parts.append(col < exp.convert(args.min))
            if args.max is not None:
                parts.append(col > exp.convert(args.max))
            return exp.paren(exp.or_(*parts)) if parts else exp.false()
        case RegexArgs():
            return _not_null_and(col, _full_match(exp.cast(col, "text"), args.pattern, dialect))
        case ExpressionArgs():
            return exp.not_(exp.paren(sqlglot.parse_one(args.expression, read="duckdb")))
    raise ValueError(f"{check.kind} has no row predicate")


def failing_predicate_sql(check: PlannedCheck, dialect: Dialect) -> str:
    """:func:`failing_condition` as SQL text of ``dialect``."""
    return failing_condition(check, dialect).sql(dialect=dialect)
