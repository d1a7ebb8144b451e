"""DC114: source paths stay in the project (no `..`, no absolute path or URL, no symlink out)."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.paths import escaping_match, path_problem
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import SourceSpec


def _opted_out(root: Path) -> bool:
    from datacody_dagster.config import load_settings

    try:
        return load_settings(root).allow_external_access
    except Exception:  # a bad settings file is reported by whoever loads settings
        return False


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    allow = _opted_out(index.root)
    for entry in index.entries:
        if not isinstance(entry.spec, SourceSpec):
            continue
        path = entry.spec.path
        problem = path_problem(path, allow)
        if problem is None and ("{" in path or "}" in path):
            problem = "`{` and `}` are not allowed in paths"
        if problem is None and not allow:
            outside = escaping_match(index.root, path)
            if outside is not None:
                problem = f"`{outside}` resolves outside the project (a symbolic link?)"
        if problem is not None:
            diags.append(
                Diagnostic(
                    errors.UNSAFE_PATH,
                    f"source `{entry.name}`: {problem}",
                    entry.location("path"),
                    "put the data under the project's data/ folder; to read elsewhere, set "
                    "`allow_external_access: true` in resources/<env>.yaml",
                )
            )
    return diags
