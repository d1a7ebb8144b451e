"""DC002: spec file paths are plain, and a group named after its file's stem follows the name
rule (spec/names.py): file names reach generated SQL comments and dbt metadata."""

from __future__ import annotations

import re

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec.names import name_problem

_SAFE_PATH = re.compile(r"[A-Za-z0-9_./ -]+")


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for pf in index.files:
        if not _SAFE_PATH.fullmatch(pf.display_path):
            diags.append(
                Diagnostic(
                    errors.SPEC_SCHEMA,
                    "a spec file's path may hold only letters, digits, `_`, `-`, `.`, `/` and spaces",
                    Location(pf.display_path.encode("unicode_escape").decode("ascii"), 1, 1),
                    "rename the file",
                )
            )
            continue
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
