"""Build the SemanticLayer from the project index (`semantic:` on assets, `metrics:` in files)."""

from __future__ import annotations

from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.semantic import (
    Element,
    ExprError,
    Metric,
    SemanticLayer,
    SemanticModel,
    default_label,
    expr_columns,
)
from datacody_dagster.spec import AssetSpecModel


def _rendered(expr: str | None) -> str | None:
    if expr is None:
        return None
    try:
        return expr_columns(expr)[0]
    except ExprError:
        return expr  # validation reports it; the layer is only used once the project is valid


def build_semantic_layer(index: ProjectIndex) -> SemanticLayer:
    """Every semantic model and metric of the project, in declaration order."""
    models: list[SemanticModel] = []
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel) or spec.semantic is None:
            continue
        sem = spec.semantic
        entities = tuple(
            Element(n, "entity", e.type, _rendered(e.expr), None, e.description)
            for n, e in sem.entities.items()
        )
        dimensions = tuple(
            Element(
                n,
                "dimension",
                d.type,
                _rendered(d.expr),
                d.label,
                d.description,
                (d.granularity or "day") if d.type == "time" else None,
            )
            for n, d in sem.dimensions.items()
        )
        measures = tuple(
            Element(n, "measure", m.agg, _rendered(m.expr), m.label, m.description)
            for n, m in sem.measures.items()
        )
        time_dims = [d.name for d in dimensions if d.type == "time"]
        time_dimension = sem.time_dimension or (time_dims[0] if len(time_dims) == 1 else None)
        has_primary = any(e.type == "primary" for e in entities)
        models.append(
            SemanticModel(
                name=entry.name,
                group=entry.group,
                location=entry.location("semantic"),
                description=sem.description or spec.description,
                entities=entities,
                dimensions=dimensions,
                measures=measures,
                primary_entity=None if has_primary else (sem.primary_entity or entry.name),
                time_dimension=time_dimension,
            )
        )
    metrics: list[Metric] = []
    for pf in index.files:
        for name, m in pf.spec.metrics.items():
            metrics.append(
                Metric(
                    name=name,
                    group=pf.group,
                    type=m.type,
                    location=pf.location("metrics", name),
                    label=m.label or default_label(name),
                    description=m.description,
                    measure=m.measure,
                    numerator=m.numerator,
                    denominator=m.denominator,
                    expr=_rendered(m.expr),
                    metrics=tuple(m.metrics) or _derived_inputs(m.expr),
                    window=m.window,
                    grain_to_date=m.grain_to_date,
                    filter=m.filter,
                )
            )
    return SemanticLayer(tuple(models), tuple(metrics))


def _derived_inputs(expr: str | None) -> tuple[str, ...]:
    if expr is None:
        return ()
    try:
        return tuple(expr_columns(expr)[1])
    except ExprError:
        return ()
