"""DC002: a group named after its file's stem follows the name rule (spec/names.py)."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec.names import name_problem


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for pf in index.files:
        if pf.spec.group is not None:
            continue  # validated by the spec model, at the `group:` key
        problem = name_problem(pf.path.stem)
        if problem is not None:
            diags.append(
                Diagnostic(
                    errors.SPEC_SCHEMA,
                    f"group name from the file name: {problem}",
                    Location(pf.display_path, 1, 1),
                    "rename the file or set `group: <name>` at the top",
                )
            )
    return diags
