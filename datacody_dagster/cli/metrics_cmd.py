"""`datacody metrics list|query`: the semantic layer, queried through MetricFlow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, handle_errors

metrics_app = typer.Typer(help="Metrics of the semantic layer: list, query, validate.", no_args_is_help=True)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@metrics_app.command("list")
@handle_errors
def list_metrics(
    project_dir: ProjectDir = Path("."),
    group: Annotated[str | None, typer.Option("--group", "-g", help="Only this group's metrics.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Metrics and what they can be grouped by (from the specs; nothing is run)."""
    from datacody_dagster.compiler import compile_project

    layer = compile_project(project_dir).semantic
    if group:
        layer = layer.scoped(group)
    items = layer.group_bys()
    if as_json:
        doc = {
            "metrics": [
                {
                    "name": m.name,
                    "type": m.type,
                    "label": m.label,
                    "description": m.description,
                    "group": m.group,
                }
                for m in layer.metrics
            ],
            "group_by": [
                {"name": i.name, "short": i.short, "kind": i.kind, "description": i.description}
                for i in items
            ],
        }
        console.print_json(json.dumps(doc))
        return
    if not layer.metrics:
        console.print("no metrics: add `metrics:` to a spec file (see the README's metrics section)")
        return
    table = Table(title="metrics")
    for col in ("metric", "type", "label", "description"):
        table.add_column(col)
    for m in layer.metrics:
        table.add_row(m.name, m.type, m.label, m.description or "")
    console.print(table)
    dims = Table(title="group by (short name or MetricFlow name)")
    for col in ("short", "name", "kind", "description"):
        dims.add_column(col)
    for i in items:
        dims.add_row(i.short, i.name, i.kind, i.description or i.label or "")
    console.print(dims)


def print_result(result: Any, as_json: bool, sql: bool) -> None:
    """A query's result as a table (or JSON), with MetricFlow's SQL when asked."""
    if as_json:
        doc: dict[str, Any] = {"query": result.query.model_dump(), "sql": result.sql}
        if not sql:
            doc["columns"] = result.columns
            doc["rows"] = result.json_rows()
        print(json.dumps(doc, indent=2))
        return
    if sql:
        console.print(result.sql, markup=False, highlight=False)
        return
    table = Table(show_lines=False)
    for col in result.columns:
        table.add_column(col, justify="left" if col in result.resolved.group_by else "right")
    for row in result.json_rows():
        table.add_row(*(_cell(row[c]) for c in result.columns))
    console.print(table)
    console.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    return text.removesuffix("T00:00:00")


@metrics_app.command("query")
@handle_errors
def query(
    metrics: Annotated[list[str], typer.Option("--metrics", "-m", help="Metric names, comma-separated.")],
    group_by: Annotated[
        list[str] | None,
        typer.Option("--group-by", "-g", help="Dimensions/entities/time grains, e.g. carrier,day."),
    ] = None,
    where: Annotated[str | None, typer.Option("--where", help="Filter, e.g. \"origin = 'JFK'\".")] = None,
    order: Annotated[list[str] | None, typer.Option("--order", help="Sort keys; '-' for descending.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N rows.")] = None,
    sql: Annotated[bool, typer.Option("--sql", help="Print MetricFlow's SQL instead of running it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Run a metric query through MetricFlow on the warehouse's current outputs."""
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.compiler.exports import models_read
    from datacody_dagster.errors import DatacodyError
    from datacody_dagster.semantic.engine import open_engine
    from datacody_dagster.semantic.query import resolve, run_query
    from datacody_dagster.spec.query import MetricQuery

    if not _split(metrics):
        raise DatacodyError(
            "a metric query needs at least one metric: --metrics departures (see `datacody metrics list`)"
        )
    project = compile_project(project_dir)
    q = MetricQuery(
        metrics=_split(metrics), group_by=_split(group_by), where=where, order_by=_split(order), limit=limit
    )
    resolve(project.semantic, q)  # bad names fail here, before MetricFlow and dbt are loaded
    needed = models_read(project.semantic, q.metrics, q.group_by, q.where)
    with open_engine(project, only=needed) as engine:
        result = run_query(engine, q, sql_only=sql)
    print_result(result, as_json, sql)


@metrics_app.command("validate")
@handle_errors
def validate(project_dir: ProjectDir = Path(".")) -> None:
    """MetricFlow's checks of the semantic layer, dry-run against the warehouse (exit 1 on errors)."""
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.errors import INVALID_SEMANTIC, DatacodyError, Diagnostic
    from datacody_dagster.semantic.validation import validate_semantic_layer

    report = validate_semantic_layer(compile_project(project_dir))
    for stage, errors in report.stages:
        console.print(f"{stage}: {'ok' if not errors else f'{errors} error(s)'}")
    for warning in report.warnings:
        console.print(warning, markup=False, highlight=False)
    if report.errors:
        raise DatacodyError([Diagnostic(INVALID_SEMANTIC, e) for e in report.errors])
    console.print(f"ok: semantic layer valid ({len(report.warnings)} warning(s))")


def register(app: typer.Typer) -> None:
    app.add_typer(metrics_app, name="metrics")
