"""Column lineage of one SQL asset (sqlglot): which upstream columns feed each output column,
and which upstream columns decide the rows (filters, joins, groupings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp, parse_one
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from datacody_dagster.compiler.sql import DIALECT

ANY = "*"
"""Stands for every column of an upstream asset (a read that lineage could not narrow)."""

_ROW_CLAUSES = (exp.Where, exp.Join, exp.Group, exp.Having, exp.Qualify, exp.Distinct)

UpstreamColumn = tuple[str, str]


@dataclass(frozen=True)
class ColumnReads:
    """What one query reads from its upstream assets."""

    projections: dict[str, frozenset[UpstreamColumn]] = field(default_factory=dict)
    """Output column -> upstream (asset, column) pairs its value is computed from."""
    rows: frozenset[UpstreamColumn] = frozenset()
    """Upstream columns that decide which rows exist (WHERE, JOIN, GROUP BY, HAVING, ...)."""
    opaque: bool = False
    """Lineage failed: treat every upstream column as read everywhere."""

    def reads(self, asset: str, columns: frozenset[str]) -> bool:
        """Does the query read any of ``columns`` of ``asset`` anywhere?"""
        every = set(self.rows).union(*self.projections.values()) if self.projections else set(self.rows)
        return self.opaque or any(t == asset and (c in columns or c == ANY) for t, c in every)


def _resolve(scope: Scope, column: exp.Column, seen: int = 0) -> set[UpstreamColumn]:
    """Upstream (table, column) pairs a column reference stands for, through CTEs and subqueries."""
    source = scope.sources.get(column.table)
    if isinstance(source, exp.Table):
        return {(source.name, column.name)}
    if isinstance(source, Scope) and seen < 32:
        inner = source.expression
        if isinstance(inner, exp.Query):
            for select in inner.selects:
                if select.alias_or_name == column.name:
                    return _expr_sources(source, select, seen + 1)
        return {(t, ANY) for t in _tables(source)}
    return set()


def _tables(scope: Scope) -> set[str]:
    return {t.name for t in scope.expression.find_all(exp.Table) if t.name}


def _expr_sources(scope: Scope, node: exp.Expr, seen: int = 0) -> set[UpstreamColumn]:
    out: set[UpstreamColumn] = set()
    for col in node.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            continue
        out |= _resolve(scope, col, seen)
    return out


def column_reads(sql: str, upstream_columns: Mapping[str, list[str] | tuple[str, ...] | None]) -> ColumnReads:
    """Lineage of ``sql`` (canonical spec SQL) given the known columns of its upstream assets."""
    schema: dict[str, object] = {
        name: {c: "VARCHAR" for c in cols} for name, cols in upstream_columns.items() if cols
    }
    try:
        query = qualify(
            parse_one(sql, read=DIALECT), schema=schema, dialect=DIALECT, validate_qualify_columns=False
        )
        scopes = traverse_scope(query)
    except Exception:  # sqlglot raises many error types on partial schemas
        return ColumnReads(opaque=True)
    if not scopes or not isinstance(query, exp.Query):
        return ColumnReads(opaque=True)
    root = scopes[-1]
    projections: dict[str, frozenset[UpstreamColumn]] = {}
    for select in query.selects:
        if isinstance(select, exp.Star) or isinstance(getattr(select, "this", None), exp.Star):
            return ColumnReads(opaque=True)
        projections[select.alias_or_name] = frozenset(_expr_sources(root, select))
    rows: set[UpstreamColumn] = set()
    # A CTE or subquery that filters, joins or groups decides the rows of the whole query.
    for scope in scopes:
        for col in scope.columns:
            if col.find_ancestor(*_ROW_CLAUSES) is not None:
                rows |= _resolve(scope, col)
    # Set operations (UNION) decide rows by every column of every branch.
    if not isinstance(query, exp.Select):
        rows |= {(t, ANY) for t in _tables(root)}
    return ColumnReads(projections=projections, rows=frozenset(rows))
