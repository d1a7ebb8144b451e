"""DC100: asset and source names are unique across all spec files."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import Entry, ProjectIndex
from datacody_dagster.errors import Diagnostic


def check(index: ProjectIndex) -> list[Diagnostic]:
    first: dict[str, Entry] = {}
    diags: list[Diagnostic] = []
    for entry in index.entries:
        if entry.name in first:
            other = first[entry.name]
            loc = entry.location()
            diags.append(
                Diagnostic(
                    errors.DUPLICATE_ASSET,
                    f"`{entry.name}` is already defined at {other.location()}",
                    loc,
                    "asset and source names are global across asset_specs/: rename one of them",
                )
            )
        else:
            first[entry.name] = entry
    return diags
