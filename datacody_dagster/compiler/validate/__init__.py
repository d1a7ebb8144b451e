"""Validation rules, one per module. Each takes the project index and returns diagnostics."""

from __future__ import annotations

from collections.abc import Callable

from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.validate import (
    check_arguments,
    check_columns,
    cycles,
    exports,
    expressions,
    file_functions,
    group_names,
    jinja_text,
    materialization,
    partitions,
    python_modules,
    python_refs,
    references,
    schedules,
    semantic,
    source_options,
    source_paths,
    sql_guard,
    steps,
    unique_names,
    view_readers,
)
from datacody_dagster.errors import Diagnostic

Rule = Callable[[ProjectIndex], list[Diagnostic]]

RULES: tuple[Rule, ...] = (
    group_names.check,
    unique_names.check,
    sql_guard.check,
    references.check,
    cycles.check,
    python_refs.check,
    schedules.check,
    check_columns.check,
    check_arguments.check,
    steps.check,
    materialization.check,
    view_readers.check,
    partitions.check,
    semantic.check,
    exports.check,
    file_functions.check,
    jinja_text.check,
    expressions.check,
    source_options.check,
    source_paths.check,
    python_modules.check,
)


def validate(index: ProjectIndex) -> list[Diagnostic]:
    """All diagnostics of all rules, sorted by location."""
    diags: list[Diagnostic] = []
    for rule in RULES:
        diags.extend(rule(index))
    return sorted(
        diags,
        key=lambda d: (str(d.location.file) if d.location else "", d.location.line if d.location else 0),
    )
