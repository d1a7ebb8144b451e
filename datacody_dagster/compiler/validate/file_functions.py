"""DC110: no file-reading function (read_*, glob, query, *_scan...) in asset, check or filter SQL."""

from __future__ import annotations

from sqlglot import exp

from datacody_dagster import errors
from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.sql_safety import file_function_problem, qualified_table_problem
from datacody_dagster.compiler.validate.walk import entry_checks, text_location
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel

HINT = "declare the file as a source (`sources: {name: {path: data/...}}`) and select from it by name"


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for entry in index.entries:
        texts: list[tuple[tuple[str | int, ...], str]] = []
        if isinstance(entry.spec, AssetSpecModel):
            if entry.spec.sql:
                texts.append((("sql",), entry.spec.sql))
            for i, step in enumerate(entry.spec.steps):
                if isinstance(step, dict) and isinstance(step.get("filter"), str):
                    texts.append((("steps", i, "filter"), step["filter"]))
        for keys, chk in entry_checks(entry):
            if chk.kind in ("sql", "expression") and isinstance(chk.value, str):
                texts.append(((*keys, chk.kind), chk.value))
        queries: list[tuple[tuple[str | int, ...], exp.Expr]] = []
        if entry.query is not None:
            queries.append((("sql",), entry.query))
        for keys, chk in entry_checks(entry):
            if chk.kind == "sql" and isinstance(chk.value, str):
                parsed = sqlmod.parse_select(chk.value)
                if not isinstance(parsed, sqlmod.SqlProblem):
                    queries.append(((*keys, "sql"), parsed))
        for keys, query in queries:
            qualified = qualified_table_problem(query)
            if qualified is not None:
                loc = entry.file.value_location(entry.section, entry.name, *keys)
                diags.append(Diagnostic(errors.UNSAFE_SQL, f"`{entry.name}`: {qualified.message}", loc, HINT))
        for keys, text in texts:
            problem = file_function_problem(text)
            if problem is not None:
                loc = text_location(entry.file, (entry.section, entry.name, *keys), problem.line, problem.col)
                diags.append(Diagnostic(errors.UNSAFE_SQL, f"`{entry.name}`: {problem.message}", loc, HINT))
    return diags
