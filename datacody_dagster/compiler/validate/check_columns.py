"""DC105: checks name columns that exist, where the asset's columns are known."""

from __future__ import annotations

import difflib

from datacody_dagster import errors
from datacody_dagster.compiler.checks import entry_columns
from datacody_dagster.compiler.columns import known_columns
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec import CheckEntry


def check(index: ProjectIndex) -> list[Diagnostic]:
    known = known_columns(index)
    diags: list[Diagnostic] = []

    def report(asset: str, column: str, cols: list[str], loc: Location) -> None:
        close = difflib.get_close_matches(column, cols, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"columns of `{asset}`: {', '.join(cols)}"
        diags.append(
            Diagnostic(
                errors.UNKNOWN_COLUMN, f"check on `{asset}` names unknown column `{column}`", loc, hint
            )
        )

    for entry in index.entries:
        cols = known.get(entry.name)
        spec = entry.spec
        checks: list[tuple[CheckEntry, str | None, Location]] = [
            (c, None, entry.location("checks", i)) for i, c in enumerate(spec.checks)
        ]
        for col_name, col_spec in spec.columns.items():
            for i, c in enumerate(col_spec.checks):
                checks.append((c, col_name, entry.location("columns", col_name, "checks", i)))
        for chk, implied, loc in checks:
            if cols is not None:
                for column in entry_columns(chk, implied):
                    if column not in cols:
                        report(entry.name, column, cols, loc)
            if chk.kind == "relationships" and chk.relationships is not None:
                target_cols = known.get(chk.relationships.to)
                if target_cols is not None and chk.relationships.field not in target_cols:
                    report(chk.relationships.to, chk.relationships.field, target_cols, loc)
    return diags
