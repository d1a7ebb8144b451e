"""DC111: no Jinja in spec text (dbt would render it), except `{{ ref() }}`/`{{ source() }}` in SQL."""

from __future__ import annotations

from typing import Any

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.parse import ParsedFile
from datacody_dagster.compiler.sql_safety import jinja_problem
from datacody_dagster.compiler.validate.walk import text_location
from datacody_dagster.errors import Diagnostic, Location


def _texts(value: Any, keys: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string (keys included) below ``value``, with its key path; iterative."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, keys)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            out.append((path, node))
        elif isinstance(node, dict):
            for k, v in node.items():
                out.append(((*path, str(k)), str(k)))
                stack.append((v, (*path, str(k))))
        elif isinstance(node, (list, tuple)):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return out


def _file_check(pf: ParsedFile) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    data = pf.spec.model_dump(by_alias=True, exclude_defaults=True)
    for keys, text in _texts(data, ()):
        is_asset_sql = len(keys) == 3 and keys[0] == "assets" and keys[2] == "sql"
        problem = jinja_problem(text, allow_refs=is_asset_sql)
        if problem is None:
            continue
        diags.append(
            Diagnostic(
                errors.UNSAFE_TEXT,
                f"{'.'.join(map(str, keys))}: {problem.message}",
                text_location(pf, keys, problem.line, problem.col),
                "dbt renders `{{ }}`/`{% %}` as code: remove the braces or write the text differently",
            )
        )
    if jinja_problem(pf.display_path) is not None or "{" in pf.display_path or "}" in pf.display_path:
        diags.append(
            Diagnostic(
                errors.UNSAFE_TEXT,
                "a spec file's name may not contain `{` or `}`",
                Location(pf.display_path, 1, 1),
                "rename the file",
            )
        )
    return diags


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for pf in index.files:
        diags.extend(_file_check(pf))
    return diags
