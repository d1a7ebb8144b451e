"""DC120/DC121/DC105/DC108/DC110: `exports:` name known metrics, dimensions and columns, safely.

Each bad name is reported at its own key with the closest known name; checks on an export
may only name its columns (the group-by items and the metrics), and their SQL obeys the same
confinement as checks on assets.
"""

from __future__ import annotations

import difflib

from datacody_dagster import errors
from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.checks import entry_columns
from datacody_dagster.compiler.exports import exports_of
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.parse import ParsedFile
from datacody_dagster.compiler.semantic import ExprError, SemanticLayer, UnknownName, name_problem
from datacody_dagster.compiler.semantic_plan import build_semantic_layer
from datacody_dagster.compiler.sql_safety import (
    file_function_problem,
    parse_predicate,
    qualified_table_problem,
)
from datacody_dagster.compiler.validate.walk import text_location
from datacody_dagster.cron import FIELDS_HINT, cron_problem
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import ExportSpec


def _hint(exc: UnknownName, fallback: str = "see `datacody metrics list`") -> str:
    return f"did you mean `{exc.closest[0]}`?" if exc.closest else fallback


def check(index: ProjectIndex) -> list[Diagnostic]:
    exports = exports_of(index.files)
    if not exports:
        return []
    layer = build_semantic_layer(index)
    taken = {e.name for e in index.entries}
    diags: list[Diagnostic] = []
    seen: set[str] = set()
    for pf, name, spec in exports:
        loc = pf.location("exports", name)
        if name in taken or name in seen:
            diags.append(
                Diagnostic(
                    errors.DUPLICATE_ASSET,
                    f"export `{name}` has the name of another asset or export",
                    loc,
                    "exports are assets: give it a name of its own",
                )
            )
        seen.add(name)
        problem = name_problem(name)
        if problem:
            diags.append(
                Diagnostic(errors.INVALID_SEMANTIC, f"export `{name}`: {problem}", loc, "rename the export")
            )
        crons: list[tuple[tuple[str | int, ...], str]] = (
            [(("schedule",), spec.schedule)] if spec.schedule else []
        )
        crons += [(("checks", i), c.schedule) for i, c in enumerate(spec.checks) if c.schedule]
        for keys, cron in crons:
            problem = cron_problem(cron)
            if problem is not None:
                diags.append(
                    Diagnostic(
                        errors.INVALID_SCHEDULE,
                        f"export `{name}`: `{cron}` is not a cron expression Dagster accepts: {problem}",
                        pf.location("exports", name, *keys),
                        FIELDS_HINT,
                    )
                )
        columns = _query_diagnostics(pf, name, spec, layer, diags)
        _check_diagnostics(pf, name, spec, columns, diags)
    return diags


def _query_diagnostics(
    pf: ParsedFile, name: str, spec: ExportSpec, layer: SemanticLayer, diags: list[Diagnostic]
) -> list[str] | None:
    """Diagnostics of the query's names; the export's columns when all of them resolve."""
    ok = True
    metrics: list[str] = []
    for i, metric in enumerate(spec.metrics):
        try:
            metrics.append(layer.resolve_metric(metric).name)
        except UnknownName as exc:
            ok = False
            fallback = "declare it under `metrics:`" if layer.metrics else "this project has no `metrics:`"
            diags.append(
                Diagnostic(
                    errors.UNKNOWN_SEMANTIC_NAME,
                    f"export `{name}`: {exc}",
                    pf.location("exports", name, "metrics", i),
                    _hint(exc, fallback),
                )
            )
    home = layer.home_model(metrics[0]) if metrics else None
    group_by: list[str] = []
    for i, item in enumerate(spec.group_by):
        try:
            group_by.append(layer.resolve_group_by(item, home).name)
        except UnknownName as exc:
            ok = False
            diags.append(
                Diagnostic(
                    errors.UNKNOWN_SEMANTIC_NAME,
                    f"export `{name}`: {exc}",
                    pf.location("exports", name, "group_by", i),
                    _hint(exc),
                )
            )
    if spec.where:
        try:
            layer.filter_template(spec.where, home)
        except ExprError as exc:
            ok = False
            diags.append(
                Diagnostic(
                    errors.UNKNOWN_SEMANTIC_NAME,
                    f"export `{name}`: {exc}",
                    pf.value_location("exports", name, "where"),
                    exc.hint,
                )
            )
    for i, item in enumerate(spec.order_by):
        key = item.lstrip("-").strip()
        try:
            known = key in metrics or layer.resolve_group_by(key, home).name in group_by
        except UnknownName:
            known = False
        if not known and ok:
            near = difflib.get_close_matches(key, [*metrics, *group_by, *spec.group_by], n=1)
            diags.append(
                Diagnostic(
                    errors.UNKNOWN_SEMANTIC_NAME,
                    f"export `{name}`: order by `{key}`, which is not in the query",
                    pf.location("exports", name, "order_by", i),
                    f"did you mean `{near[0]}`?"
                    if near
                    else "order by a metric or group-by item of the export",
                )
            )
    return [*group_by, *metrics] if ok else None


def _check_diagnostics(
    pf: ParsedFile, name: str, spec: ExportSpec, columns: list[str] | None, diags: list[Diagnostic]
) -> None:
    for i, chk in enumerate(spec.checks):
        keys = ("exports", name, "checks", i)
        if columns is not None:
            for column in entry_columns(chk, None):
                if column not in columns:
                    close = difflib.get_close_matches(column, columns, n=1)
                    diags.append(
                        Diagnostic(
                            errors.UNKNOWN_COLUMN,
                            f"check on export `{name}` names unknown column `{column}`",
                            pf.location(*keys),
                            f"did you mean `{close[0]}`?"
                            if close
                            else f"columns of `{name}`: {', '.join(columns)}",
                        )
                    )
        if chk.kind not in ("sql", "expression") or not isinstance(chk.value, str):
            continue
        path = (*keys, chk.kind)
        text_problem = file_function_problem(chk.value)
        if text_problem is not None:
            diags.append(
                Diagnostic(
                    errors.UNSAFE_SQL,
                    f"`{name}`: {text_problem.message}",
                    text_location(pf, path, text_problem.line, text_problem.col),
                )
            )
            continue
        if chk.kind == "expression":
            parsed = parse_predicate(chk.value)
            if isinstance(parsed, sqlmod.SqlProblem):
                diags.append(
                    Diagnostic(
                        errors.UNSAFE_SQL,
                        f"`{name}`: expression check: {parsed.message}",
                        text_location(pf, path, parsed.line, parsed.col),
                        "write one condition every row must satisfy, e.g. `departures >= 0`",
                    )
                )
            continue
        query = sqlmod.parse_select(chk.value)
        if isinstance(query, sqlmod.SqlProblem):
            diags.append(
                Diagnostic(
                    errors.SQL_NOT_SELECT if query.not_select else errors.SQL_SYNTAX,
                    f"`{name}`: sql check: {query.message}",
                    text_location(pf, path, query.line, query.col),
                    "write one SELECT returning the failing rows",
                )
            )
            continue
        qualified = qualified_table_problem(query)
        if qualified is not None:
            diags.append(
                Diagnostic(errors.UNSAFE_SQL, f"`{name}`: {qualified.message}", pf.value_location(*path))
            )
