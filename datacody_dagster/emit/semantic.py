"""Emit the semantic layer into the dbt project: semantic models, metrics and a time spine.

dbt parses these into ``semantic_manifest.json``, which MetricFlow (``mf``, and
``datacody metrics``) reads. Output is a pure ``{path relative to the dbt project: text}``
mapping; ``emit/files.py`` writes it.
"""

from __future__ import annotations

from typing import Any

import yaml

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.compiler.semantic import Element, Metric, SemanticLayer, SemanticModel
from datacody_dagster.emit.dbt import GENERATED_DIR, YAML_HEADER

TIME_SPINE_MODEL = "metricflow_time_spine"
TIME_SPINE_COLUMN = "date_day"
TIME_SPINE_SQL = (
    f"select cast(range as date) as {TIME_SPINE_COLUMN}\n"
    "from range(date '2000-01-01', date '2041-01-01', interval 1 day)"
)
"""One row per day; MetricFlow joins it for cumulative metrics and time gaps (no data read)."""

_AGG = {"avg": "average"}


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {})}


def _entity(e: Element) -> dict[str, Any]:
    return _compact({"name": e.name, "type": e.type, "expr": e.expr, "description": e.description})


def _dimension(d: Element) -> dict[str, Any]:
    out = _compact(
        {"name": d.name, "type": d.type, "expr": d.expr, "label": d.label, "description": d.description}
    )
    if d.type == "time":
        out["type_params"] = {"time_granularity": d.granularity or "day"}
    return out


def _measure(m: Element, as_metric: bool) -> dict[str, Any]:
    out = _compact(
        {
            "name": m.name,
            "agg": _AGG.get(m.type, m.type),
            "expr": m.expr or m.name,
            "label": m.label,
            "description": m.description,
        }
    )
    if as_metric:
        out["create_metric"] = True
    return out


def _semantic_model(model: SemanticModel, layer: SemanticLayer) -> dict[str, Any]:
    used_as_metrics = _measures_used_as_metrics(layer)
    out: dict[str, Any] = {"name": model.name}
    if model.description:
        out["description"] = model.description
    out["model"] = f"ref('{model.name}')"
    if model.time_dimension:
        out["defaults"] = {"agg_time_dimension": model.time_dimension}
    if model.primary_entity:
        out["primary_entity"] = model.primary_entity
    for key, items in (
        ("entities", [_entity(e) for e in model.entities]),
        ("dimensions", [_dimension(d) for d in model.dimensions]),
        ("measures", [_measure(m, m.name in used_as_metrics) for m in model.measures]),
    ):
        if items:
            out[key] = items
    return out


def _measures_used_as_metrics(layer: SemanticLayer) -> set[str]:
    """Measures a ratio/derived metric names directly: MetricFlow makes them metrics (create_metric)."""
    metric_names = set(layer.metric_names())
    refs = {r for m in layer.metrics for r in (m.numerator, m.denominator, *m.metrics) if r}
    return {r for r in refs if r not in metric_names and layer.measure_owner(r) is not None}


def _metric(metric: Metric, layer: SemanticLayer) -> dict[str, Any]:
    out: dict[str, Any] = {"name": metric.name, "label": metric.label}
    if metric.description:
        out["description"] = metric.description
    out["type"] = metric.type
    params: dict[str, Any] = {}
    if metric.type in ("simple", "cumulative"):
        params["measure"] = metric.measure
    if metric.type == "cumulative":
        cumulative = _compact({"window": metric.window, "grain_to_date": metric.grain_to_date})
        if cumulative:
            params["cumulative_type_params"] = cumulative
    if metric.type == "ratio":
        params["numerator"] = metric.numerator
        params["denominator"] = metric.denominator
    if metric.type == "derived":
        params["expr"] = metric.expr
        params["metrics"] = [{"name": m} for m in metric.metrics]
    out["type_params"] = params
    if metric.filter:
        out["filter"] = layer.filter_template(metric.filter, layer.home_model(metric.name))
    return out


def _saved_query(node: Node, layer: SemanticLayer) -> dict[str, Any]:
    """An export as dbt's saved query (``query_params`` + one ``exports`` entry, as a table)."""
    query = node.saved_query
    metrics = [layer.resolve_metric(m).name for m in query["metrics"]]
    home = layer.home_model(metrics[0])
    params: dict[str, Any] = {"metrics": metrics}
    group_by = [layer.resolve_group_by(g, home).template() for g in query["group_by"]]
    if group_by:
        params["group_by"] = [g.removeprefix("{{ ").removesuffix(" }}") for g in group_by]
    if query.get("where"):
        params["where"] = [layer.filter_template(query["where"], home)]
    out: dict[str, Any] = {"name": node.name}
    if node.description:
        out["description"] = node.description
    out["query_params"] = params
    out["exports"] = [{"name": node.name, "config": {"export_as": "table"}}]
    return out


def _dump(doc: dict[str, Any]) -> str:
    return YAML_HEADER + yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)


def emit_semantic_files(project: CompiledProject) -> dict[str, str]:
    """Semantic YAML per group, plus the time-spine model, when the project has a semantic layer."""
    layer = project.semantic
    if layer.empty:
        return {}
    files: dict[str, str] = {}
    exports = [n for n in project.plan.nodes if n.kind == "export"]
    groups = sorted(
        {m.group for m in layer.models} | {m.group for m in layer.metrics} | {n.group for n in exports}
    )
    for group in groups:
        doc: dict[str, Any] = {"version": 2}
        models = [_semantic_model(m, layer) for m in layer.models if m.group == group]
        metrics = [_metric(m, layer) for m in layer.metrics if m.group == group]
        if models:
            doc["semantic_models"] = models
        if metrics:
            doc["metrics"] = metrics
        saved = [
            _saved_query(n, layer) for n in project.plan.nodes if n.kind == "export" and n.group == group
        ]
        if saved:
            doc["saved_queries"] = saved
        files[f"{GENERATED_DIR}/{group}/_{group}__semantic.yml"] = _dump(doc)
    files[f"{GENERATED_DIR}/{TIME_SPINE_MODEL}.sql"] = (
        "-- generated by datacody; do not edit\n{{ config(materialized='view') }}\n\n" + TIME_SPINE_SQL + "\n"
    )
    files[f"{GENERATED_DIR}/_datacody__time_spine.yml"] = _dump(
        {
            "version": 2,
            "models": [
                {
                    "name": TIME_SPINE_MODEL,
                    "description": "One row per day (MetricFlow's time spine)",
                    "time_spine": {"standard_granularity_column": TIME_SPINE_COLUMN},
                    "columns": [{"name": TIME_SPINE_COLUMN, "granularity": "day"}],
                }
            ],
        }
    )
    return files
