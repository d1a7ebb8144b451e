"""The key queries of `unique` and `relationships`, built once as sqlglot expressions and
rendered per dialect (DuckDB, Spark), so both engines run the same queries.

Relations are SQL text of the caller's engine (``read_parquet('...')``, a Spark temp view): the
queries are built on placeholder tables and the relations put in after rendering. Null handling
follows dbt's generic tests: single-column `unique` ignores nulls while composite keys group
them, and a null foreign key is not an orphan.
"""

from __future__ import annotations

from sqlglot import exp

from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import ColumnsArgs, RelationshipsArgs

Dialect = str  # "duckdb" | "spark"

_CHILD = "__dc_child__"
_PARENT = "__dc_parent__"


def _column(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _render(query: exp.Expression, dialect: Dialect, relations: dict[str, str]) -> str:
    sql = query.sql(dialect=dialect)
    for token, relation in relations.items():
        sql = sql.replace(token, relation)
    return sql


def key_columns(check: PlannedCheck) -> list[str]:
    """The key of a `unique` check (one column or several)."""
    return list(check.params_as(ColumnsArgs).columns)


def duplicate_keys_query(check: PlannedCheck, relation: str, dialect: Dialect) -> str:
    """Every repeated key of a `unique` check with its count ``n`` (no row: the key is unique)."""
    cols = key_columns(check)
    count = exp.Count(this=exp.Star())
    query = (
        exp.select(*(_column(c) for c in cols), exp.alias_(count.copy(), "n"))
        .from_(_CHILD)
        .group_by(*(_column(c) for c in cols))
        .having(count > 1)
    )
    if len(cols) == 1:
        query = query.where(exp.not_(_column(cols[0]).is_(exp.null())))
    return _render(query, dialect, {_CHILD: relation})


def _orphan_condition(field: str, key: exp.Expression) -> exp.Expression:
    probe = exp.select(exp.Literal.number(1)).from_(exp.to_table(_PARENT).as_("parent"))
    probe = probe.where(exp.EQ(this=_column(field, "parent"), expression=key))
    return exp.not_(exp.Exists(this=probe))


def orphan_rows_query(check: PlannedCheck, relation: str, parent: str, dialect: Dialect) -> str:
    """The rows of a `relationships` check whose non-null key is missing from ``parent``."""
    args = check.params_as(RelationshipsArgs)
    col = _column(args.column or "", "child")
    query = (
        exp.select("*")
        .from_(exp.to_table(_CHILD).as_("child"))
        .where(exp.not_(col.is_(exp.null())))
        .where(_orphan_condition(args.field, col.copy()))
    )
    return _render(query, dialect, {_CHILD: relation, _PARENT: parent})


def orphan_counts_query(check: PlannedCheck, relation: str, parent: str, dialect: Dialect) -> str:
    """One row: (missing keys, failing rows) of a `relationships` check.

    Distinct child keys first: the anti-join then probes each key once.
    """
    args = check.params_as(RelationshipsArgs)
    col = _column(args.column or "")
    keys = (
        exp.select(exp.alias_(col, "key"), exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(_CHILD)
        .where(exp.not_(col.copy().is_(exp.null())))
        .group_by(col.copy())
    )
    total = exp.Coalesce(this=exp.Sum(this=exp.column("n")), expressions=[exp.Literal.number(0)])
    query = (
        exp.select(exp.Count(this=exp.Star()), total)
        .from_("k")
        .where(_orphan_condition(args.field, exp.column("key", "k")))
        .with_("k", as_=keys)
    )
    return _render(query, dialect, {_CHILD: relation, _PARENT: parent})
