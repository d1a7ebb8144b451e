"""DC120/DC121/DC105: `semantic:` and `metrics:` name real columns, measures, metrics and dimensions."""

from __future__ import annotations

import re

from datacody_dagster import errors
from datacody_dagster.compiler.columns import known_columns
from datacody_dagster.compiler.index import Entry, ProjectIndex
from datacody_dagster.compiler.kinds import asset_engine, asset_kind, runs_in_dbt
from datacody_dagster.compiler.semantic import ExprError, SemanticLayer, closest, expr_columns, name_problem
from datacody_dagster.compiler.semantic_plan import build_semantic_layer
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec import AssetSpecModel, SemanticSpec

_WINDOW = re.compile(r"^\d+ (day|week|month|quarter|year)s?$")


def _did_you_mean(candidates: list[str], fallback: str) -> str:
    return f"did you mean `{candidates[0]}`?" if candidates else fallback


def _no_jinja(text: str | None, loc: Location, diags: list[Diagnostic]) -> None:
    if text and ("{{" in text or "{%" in text):
        diags.append(
            Diagnostic(errors.INVALID_SEMANTIC, "Jinja is not allowed in labels and descriptions", loc)
        )


def _check_model(entry: Entry, sem: SemanticSpec, cols: list[str] | None, diags: list[Diagnostic]) -> None:
    spec = entry.spec
    assert isinstance(spec, AssetSpecModel)
    if not runs_in_dbt(asset_kind(spec), asset_engine(spec, entry.file.spec)):
        diags.append(
            Diagnostic(
                errors.INVALID_SEMANTIC,
                f"`semantic:` on `{entry.name}` needs a SQL asset on DuckDB (a dbt model)",
                entry.location("semantic"),
                "put the semantic model on a SQL asset that selects from this one",
            )
        )
        return
    problem = name_problem(entry.name)
    if problem:
        diags.append(
            Diagnostic(
                errors.INVALID_SEMANTIC,
                f"asset `{entry.name}` cannot be a semantic model: {problem}",
                entry.location("semantic"),
                "rename the asset",
            )
        )
    seen: dict[str, str] = {}
    sections = (("entities", sem.entities), ("dimensions", sem.dimensions), ("measures", sem.measures))
    for section, items in sections:
        for name, item in items.items():
            loc = entry.location("semantic", section, name)
            problem = name_problem(name)
            if problem:
                diags.append(Diagnostic(errors.INVALID_SEMANTIC, f"`{name}`: {problem}", loc, "rename it"))
            if name in seen:
                diags.append(
                    Diagnostic(
                        errors.INVALID_SEMANTIC,
                        f"`{name}` is declared in both {seen[name]} and {section}",
                        loc,
                        "element names must be unique within a semantic model",
                    )
                )
            seen.setdefault(name, section)
            _no_jinja(getattr(item, "description", None), loc, diags)
            _no_jinja(getattr(item, "label", None), loc, diags)
            expr = item.expr
            if expr is None:
                read = [name]
            else:
                try:
                    _, read = expr_columns(expr)
                except ExprError as exc:
                    diags.append(
                        Diagnostic(
                            errors.INVALID_SEMANTIC,
                            str(exc),
                            entry.location("semantic", section, name, "expr"),
                            exc.hint,
                        )
                    )
                    continue
            if cols is None:
                continue
            for column in read:
                if column not in cols:
                    near = closest(column, cols, n=1)
                    where = "expr" if expr is not None else None
                    kind = "entity" if section == "entities" else section[:-1]
                    diags.append(
                        Diagnostic(
                            errors.UNKNOWN_COLUMN,
                            f"{kind} `{name}` of `{entry.name}` reads unknown column `{column}`",
                            entry.location("semantic", section, name, *([where] if where else [])),
                            _did_you_mean(near, f"set `expr:` to one of: {', '.join(cols)}"),
                        )
                    )
    time_dims = [n for n, d in sem.dimensions.items() if d.type == "time"]
    if sem.time_dimension is not None and sem.time_dimension not in time_dims:
        diags.append(
            Diagnostic(
                errors.UNKNOWN_SEMANTIC_NAME,
                f"`time_dimension: {sem.time_dimension}` is not a time dimension of `{entry.name}`",
                entry.location("semantic", "time_dimension"),
                _did_you_mean(closest(sem.time_dimension, time_dims, 1), "declare it with `type: time`"),
            )
        )
    if sem.measures and not time_dims:
        diags.append(
            Diagnostic(
                errors.INVALID_SEMANTIC,
                f"measures of `{entry.name}` need a time dimension to aggregate over",
                entry.location("semantic", "measures"),
                "add a dimension with `type: time` (e.g. the row's date)",
            )
        )
    if sem.measures and len(time_dims) > 1 and sem.time_dimension is None:
        diags.append(
            Diagnostic(
                errors.INVALID_SEMANTIC,
                f"`{entry.name}` has several time dimensions",
                entry.location("semantic"),
                f"set `time_dimension:` to one of {', '.join(time_dims)}",
            )
        )
    if sem.primary_entity and name_problem(sem.primary_entity):
        diags.append(
            Diagnostic(
                errors.INVALID_SEMANTIC,
                f"`primary_entity`: {name_problem(sem.primary_entity)}",
                entry.location("semantic", "primary_entity"),
            )
        )


def _check_consistency(index: ProjectIndex, layer: SemanticLayer, diags: list[Diagnostic]) -> None:
    """MetricFlow wants one meaning per name across models: a measure once, a name one kind."""
    kinds: dict[str, tuple[str, str]] = {}
    for model in layer.models:
        for el in (*model.entities, *model.dimensions, *model.measures):
            prior = kinds.get(el.name)
            loc = model.location
            if prior and el.kind == "measure" and prior[0] == "measure":
                diags.append(
                    Diagnostic(
                        errors.INVALID_SEMANTIC,
                        f"measure `{el.name}` is declared in `{prior[1]}` and `{model.name}`",
                        loc,
                        "measure names are project-wide: rename one",
                    )
                )
            elif prior and prior[0] != el.kind:
                diags.append(
                    Diagnostic(
                        errors.INVALID_SEMANTIC,
                        f"`{el.name}` is a {prior[0]} in `{prior[1]}` and a {el.kind} in `{model.name}`",
                        loc,
                        "use distinct names",
                    )
                )
            kinds.setdefault(el.name, (el.kind, model.name))


def _check_metrics(index: ProjectIndex, layer: SemanticLayer, diags: list[Diagnostic]) -> None:
    measures = layer.measure_names()
    referable = layer.referable_metrics()
    seen: dict[str, Location] = {}
    for pf in index.files:
        for name, m in pf.spec.metrics.items():
            loc = pf.location("metrics", name)
            problem = name_problem(name)
            if problem:
                diags.append(
                    Diagnostic(errors.INVALID_SEMANTIC, f"metric `{name}`: {problem}", loc, "rename it")
                )
            if name in seen:
                diags.append(
                    Diagnostic(
                        errors.INVALID_SEMANTIC,
                        f"metric `{name}` is also declared at {seen[name]}",
                        loc,
                        "metric names are project-wide: rename one",
                    )
                )
            seen.setdefault(name, loc)
            _no_jinja(m.label, loc, diags)
            _no_jinja(m.description, loc, diags)
            if m.measure is not None and m.measure not in measures:
                diags.append(
                    Diagnostic(
                        errors.UNKNOWN_SEMANTIC_NAME,
                        f"metric `{name}` uses unknown measure `{m.measure}`",
                        pf.location("metrics", name, "measure"),
                        _did_you_mean(
                            closest(m.measure, measures, 1), "declare it under an asset's `semantic.measures`"
                        ),
                    )
                )
            for key in ("numerator", "denominator"):
                ref = getattr(m, key)
                if ref is not None and ref not in referable:
                    diags.append(
                        Diagnostic(
                            errors.UNKNOWN_SEMANTIC_NAME,
                            f"metric `{name}`: unknown metric or measure `{ref}`",
                            pf.location("metrics", name, key),
                            _did_you_mean(closest(ref, referable, 1), f"known: {', '.join(referable)}"),
                        )
                    )
            if m.type == "derived" and m.expr is not None:
                try:
                    _, used = expr_columns(m.expr)
                except ExprError as exc:
                    diags.append(
                        Diagnostic(
                            errors.INVALID_SEMANTIC, str(exc), pf.location("metrics", name, "expr"), exc.hint
                        )
                    )
                    used = []
                for i, ref in enumerate(m.metrics):
                    if ref not in referable:
                        diags.append(
                            Diagnostic(
                                errors.UNKNOWN_SEMANTIC_NAME,
                                f"metric `{name}`: unknown metric `{ref}`",
                                pf.location("metrics", name, "metrics", i),
                                _did_you_mean(closest(ref, referable, 1), f"known: {', '.join(referable)}"),
                            )
                        )
                for ref in used:
                    allowed = m.metrics or referable
                    if ref not in allowed:
                        diags.append(
                            Diagnostic(
                                errors.UNKNOWN_SEMANTIC_NAME,
                                f"metric `{name}`: `{ref}` in `expr` is not a metric",
                                pf.location("metrics", name, "expr"),
                                _did_you_mean(
                                    closest(ref, list(allowed), 1),
                                    "list the metrics it uses under `metrics:`",
                                ),
                            )
                        )
                    if ref == name:
                        diags.append(
                            Diagnostic(
                                errors.INVALID_SEMANTIC,
                                f"metric `{name}` uses itself",
                                pf.location("metrics", name, "expr"),
                            )
                        )
            if m.window is not None and not _WINDOW.match(m.window.strip()):
                diags.append(
                    Diagnostic(
                        errors.INVALID_SEMANTIC,
                        f"metric `{name}`: window `{m.window}` is not `N unit`",
                        pf.location("metrics", name, "window"),
                        "e.g. `7 days` or `1 month`",
                    )
                )
            if m.filter is not None:
                try:
                    layer.filter_template(m.filter, layer.home_model(name))
                except ExprError as exc:
                    diags.append(
                        Diagnostic(
                            errors.UNKNOWN_SEMANTIC_NAME,
                            str(exc),
                            pf.location("metrics", name, "filter"),
                            exc.hint,
                        )
                    )


def check(index: ProjectIndex) -> list[Diagnostic]:
    semantic_entries = [
        e for e in index.entries if isinstance(e.spec, AssetSpecModel) and e.spec.semantic is not None
    ]
    if not semantic_entries and not any(pf.spec.metrics for pf in index.files):
        return []
    known = known_columns(index)
    diags: list[Diagnostic] = []
    for entry in semantic_entries:
        assert isinstance(entry.spec, AssetSpecModel) and entry.spec.semantic is not None
        _check_model(entry, entry.spec.semantic, known.get(entry.name), diags)
    layer = build_semantic_layer(index)
    _check_consistency(index, layer, diags)
    _check_metrics(index, layer, diags)
    return diags
