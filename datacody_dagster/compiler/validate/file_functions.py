"""DC110: no file-reading function (read_*, glob, query, *_scan...) in asset, check or filter SQL."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.sql_safety import file_function_problem
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
        for keys, text in texts:
            problem = file_function_problem(text)
            if problem is not None:
                loc = text_location(entry.file, (entry.section, entry.name, *keys), problem.line, problem.col)
                diags.append(Diagnostic(errors.UNSAFE_SQL, f"`{entry.name}`: {problem.message}", loc, HINT))
    return diags
