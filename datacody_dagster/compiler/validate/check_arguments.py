"""DC002: `not_null`/`unique` name their columns, except under `columns:` where the column is implied."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for entry in index.entries:
        for i, chk in enumerate(entry.spec.checks):
            if chk.kind in {"not_null", "unique"} and chk.value is True:
                diags.append(
                    Diagnostic(
                        errors.SPEC_SCHEMA,
                        f"`{chk.kind}: true` on `{entry.name}` names no column",
                        entry.location("checks", i, chk.kind),
                        f"write `{chk.kind}: <column>` or a list, or move it under `columns: {{col: "
                        f"{{checks: [{chk.kind}]}}}}`",
                    )
                )
    return diags
