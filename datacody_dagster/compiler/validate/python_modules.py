"""DC115: `python:` names a function of the project's own modules or of `python_modules:`,
defined in that module itself (not one it imports or re-exports)."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.python_attrs import attribute_problem
from datacody_dagster.compiler.python_modules import module_problem
from datacody_dagster.compiler.validate.python_refs import _REF
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel


def _allow_list(index: ProjectIndex) -> list[str]:
    from datacody_dagster.config import load_settings

    try:
        return list(load_settings(index.root).python_modules)
    except Exception:  # a bad settings file is reported by whoever loads settings
        return []


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    allow: list[str] | None = None
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel) or not spec.python or not _REF.match(spec.python):
            continue  # the form is python_refs' rule
        if allow is None:
            allow = _allow_list(index)
        problem = module_problem(index.root, spec.python, allow)
        if problem is not None:
            diags.append(
                Diagnostic(
                    errors.UNSAFE_PYTHON,
                    f"asset `{entry.name}`: `python: {spec.python}`: {problem}",
                    entry.location("python"),
                    "put the module in the project, or allow its package in resources/<env>.yaml "
                    "(`python_modules: [my_pkg]`)",
                )
            )
            continue
        bad = attribute_problem(index.root, spec.python, allow)
        if bad is not None:
            diags.append(
                Diagnostic(
                    errors.UNSAFE_PYTHON,
                    f"asset `{entry.name}`: `python: {spec.python}`: {bad.problem}",
                    entry.location("python"),
                    bad.hint,
                )
            )
    return diags
