"""Metric queries: what people (or the LLM) ask, checked against the layer, run by MetricFlow."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from datacody_dagster.compiler.semantic import ExprError, SemanticLayer, UnknownName
from datacody_dagster.errors import UNKNOWN_SEMANTIC_NAME, DatacodyError, Diagnostic
from datacody_dagster.semantic.engine import SemanticEngine
from datacody_dagster.spec.query import MetricQuery


def parse_query_text(text: str) -> MetricQuery:
    """`metrics=a,b;group_by=c;where=...;order_by=-a;limit=5` as a MetricQuery."""
    fields: dict[str, Any] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in MetricQuery.model_fields:
            raise DatacodyError(
                f"cannot read `{part.strip()}`: write key=value pairs separated by `;` "
                "(keys: metrics, group_by, where, order_by, limit)"
            )
        if key in ("metrics", "group_by", "order_by"):
            fields[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "limit":
            if not value.strip().isdigit():
                raise DatacodyError(f"limit must be a positive integer, not `{value.strip()}`")
            fields[key] = int(value)
        else:
            fields[key] = value.strip() or None
    if not fields.get("metrics"):
        raise DatacodyError("a query needs `metrics=`")
    return MetricQuery(**fields)


@dataclass(frozen=True)
class ResolvedQuery:
    """A MetricQuery in MetricFlow's names."""

    metrics: list[str]
    group_by: list[str]
    where: str | None
    order_by: list[str]
    limit: int | None


def _hint(exc: UnknownName) -> str:
    return f"did you mean `{exc.closest[0]}`?" if exc.closest else "see `datacody metrics list`"


def resolve(layer: SemanticLayer, query: MetricQuery) -> ResolvedQuery:
    """Check every name against the layer; DatacodyError names the closest known ones."""
    problems: list[Diagnostic] = []
    metrics: list[str] = []
    for name in query.metrics:
        try:
            metrics.append(layer.resolve_metric(name).name)
        except UnknownName as exc:
            problems.append(Diagnostic(UNKNOWN_SEMANTIC_NAME, str(exc), hint=_hint(exc)))
    home = layer.home_model(metrics[0]) if metrics else None
    group_by: list[str] = []
    for name in query.group_by:
        try:
            group_by.append(layer.resolve_group_by(name, home).name)
        except UnknownName as exc:
            problems.append(Diagnostic(UNKNOWN_SEMANTIC_NAME, str(exc), hint=_hint(exc)))
    where = None
    if query.where:
        try:
            where = layer.filter_template(query.where, home)
        except ExprError as exc:
            problems.append(Diagnostic(UNKNOWN_SEMANTIC_NAME, str(exc), hint=exc.hint))
    order_by: list[str] = []
    for item in query.order_by:
        desc, name = item.startswith("-"), item.lstrip("-").strip()
        if name in metrics:
            resolved = name
        else:
            try:
                resolved = layer.resolve_group_by(name, home).name
            except UnknownName as exc:
                problems.append(Diagnostic(UNKNOWN_SEMANTIC_NAME, f"order by: {exc}", hint=_hint(exc)))
                continue
            if resolved not in group_by:
                problems.append(
                    Diagnostic(
                        UNKNOWN_SEMANTIC_NAME,
                        f"order by `{name}`: it is not in the query",
                        hint="add it to the group-by",
                    )
                )
                continue
        order_by.append(("-" if desc else "") + resolved)
    if problems:
        raise DatacodyError(problems)
    return ResolvedQuery(metrics, group_by, where, order_by, query.limit)


@dataclass(frozen=True)
class QueryResult:
    query: MetricQuery
    resolved: ResolvedQuery
    sql: str
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def json_rows(self) -> list[dict[str, Any]]:
        return [{c: _jsonable(v) for c, v in zip(self.columns, row, strict=True)} for row in self.rows]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _request(resolved: ResolvedQuery) -> Any:
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    return MetricFlowQueryRequest.create(
        metric_names=resolved.metrics,
        group_by_names=resolved.group_by or None,
        where_constraints=[resolved.where] if resolved.where else None,
        order_by_names=resolved.order_by or None,
        limit=resolved.limit,
    )


def _mf_error(exc: Exception) -> DatacodyError:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return DatacodyError(f"MetricFlow could not answer the query: {' '.join(lines[:6])}")


def run_query(engine: SemanticEngine, query: MetricQuery, sql_only: bool = False) -> QueryResult:
    """Run (or, with ``sql_only``, only plan) the query through MetricFlow."""
    resolved = resolve(engine.layer, query)
    request = _request(resolved)
    try:
        if sql_only:
            sql = engine.mf.explain(request).sql_statement.sql
            return QueryResult(query, resolved, sql, [], [])
        result = engine.mf.query(request)
    except DatacodyError:
        raise
    except Exception as exc:  # MetricFlow's own errors: shown as a diagnostic, not a traceback
        raise _mf_error(exc) from exc
    table = result.result_df
    columns = list(table.column_names) if table is not None else []
    rows = [tuple(r) for r in table.rows] if table is not None else []
    return QueryResult(query, resolved, result.sql, columns, rows)


def query_table(engine: SemanticEngine, query: MetricQuery) -> tuple[str, Any]:
    """MetricFlow's SQL for the query and its result as a pyarrow Table (DuckDB's types kept).

    The SQL is what `run_query` runs (MetricFlow plans it); DuckDB returns the rows as Arrow, so
    dates stay dates and counts stay integers in the Parquet an export writes.
    """
    resolved = resolve(engine.layer, query)
    try:
        sql = engine.mf.explain(_request(resolved)).sql_statement.sql
    except Exception as exc:  # MetricFlow's own errors: shown as a diagnostic, not a traceback
        raise _mf_error(exc) from exc
    return sql, engine.con.sql(sql).to_arrow_table()
