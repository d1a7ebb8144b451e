"""Plan `exports:`: each saved metric query becomes a node of kind ``export`` in its group.

The node reads the semantic models its metrics, group-by items and filter touch (its deps),
its columns are the group-by items then the metrics (MetricFlow's column names), and its
fingerprint hashes the saved query with the definitions of everything it reads, so a change
to a metric or measure marks the export stale, and a comment or key order does not.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.checks import PlannedCheck, plan_checks
from datacody_dagster.compiler.parse import ParsedFile
from datacody_dagster.compiler.semantic import (
    ExprError,
    GroupBy,
    SemanticLayer,
    UnknownName,
    parse_expr,
)
from datacody_dagster.errors import Location
from datacody_dagster.spec import CheckEntry, ExportSpec, MetricQuery


@dataclass(frozen=True)
class ResolvedExport:
    """An export's query in MetricFlow's names, and the semantic models it reads."""

    metrics: tuple[str, ...]
    group_by: tuple[GroupBy, ...]
    models: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The exported table's columns as MetricFlow writes them: time group-by items, the
        other group-by items, then the metrics."""
        times = [g.name for g in self.group_by if g.kind == "time"]
        return (*times, *(g.name for g in self.group_by if g.kind != "time"), *self.metrics)


def saved_query(spec: ExportSpec) -> dict[str, Any]:
    """The query as written: the `MetricQuery` fields of the export."""
    return spec.model_dump(include=set(MetricQuery.model_fields))


def resolve_export(layer: SemanticLayer, spec: ExportSpec) -> ResolvedExport:
    """Names resolved against the layer (raises UnknownName / ExprError on the first bad one)."""
    metrics = tuple(layer.resolve_metric(m).name for m in spec.metrics)
    home = layer.home_model(metrics[0])
    group_by = tuple(layer.resolve_group_by(g, home) for g in spec.group_by)
    return ResolvedExport(metrics, group_by, models_read(layer, metrics, spec.group_by, spec.where))


def models_read(
    layer: SemanticLayer, metrics: Sequence[str], group_by: Sequence[str], where: str | None
) -> tuple[str, ...]:
    """The semantic models a metric query reads: its measures' owners, the models of its
    group-by items and of the dimensions its filter names (raises UnknownName / ExprError)."""
    names = [layer.resolve_metric(m).name for m in metrics]
    home = layer.home_model(names[0]) if names else None
    models: set[str] = set()
    for metric in names:
        for measure in layer.measures_behind(metric):
            owner = layer.measure_owner(measure)
            if owner is not None:
                models.add(owner.name)
    items = [layer.resolve_group_by(g, home) for g in group_by]
    if where:
        for column in parse_expr(where).find_all(exp.Column):
            written = column.name if not column.table else f"{column.table}__{column.name}"
            items.append(layer.resolve_group_by(written, home))
    models.update(i.model for i in items if i.model)
    return tuple(m.name for m in layer.models if m.name in models)


def _definition(obj: Any) -> dict[str, Any]:
    data = dataclasses.asdict(obj)
    data.pop("location", None)
    return data


def export_fingerprint(layer: SemanticLayer, spec: ExportSpec, resolved: ResolvedExport) -> str:
    """Hash of the saved query and the definitions of the metrics and models it reads."""
    names: set[str] = set()
    pending = list(resolved.metrics)
    while pending:  # metrics behind ratios and derived metrics count too
        name = pending.pop()
        metric = layer.metric(name)
        if metric is None or name in names:
            continue
        names.add(name)
        pending.extend(p for p in (metric.numerator, metric.denominator, *metric.metrics) if p)
    metrics = [_definition(m) for m in layer.metrics if m.name in names]
    models = [_definition(m) for m in layer.models if m.name in resolved.models]
    query = {**saved_query(spec), "resolved": [*resolved.metrics, *(g.name for g in resolved.group_by)]}
    body = json.dumps({"query": query, "metrics": metrics, "models": models}, sort_keys=True, default=str)
    return sqlmod.fingerprint("export", body)


def export_checks(pf: ParsedFile, name: str, spec: ExportSpec) -> list[PlannedCheck]:
    triples: list[tuple[CheckEntry, str | None, Location | None]] = [
        (c, None, pf.location("exports", name, "checks", i)) for i, c in enumerate(spec.checks)
    ]
    return plan_checks(name, triples)


def exports_of(files: list[ParsedFile]) -> list[tuple[ParsedFile, str, ExportSpec]]:
    return [(pf, name, spec) for pf in files for name, spec in pf.spec.exports.items()]


def try_resolve(layer: SemanticLayer, spec: ExportSpec) -> ResolvedExport | None:
    try:
        return resolve_export(layer, spec)
    except (UnknownName, ExprError):
        return None
