"""Shared walks of the spec for the confinement rules: check entries and text positions."""

from __future__ import annotations

from collections.abc import Iterator

from datacody_dagster.compiler.index import Entry
from datacody_dagster.compiler.parse import ParsedFile
from datacody_dagster.errors import Location
from datacody_dagster.spec import CheckEntry


def entry_checks(entry: Entry) -> Iterator[tuple[tuple[str | int, ...], CheckEntry]]:
    """Every check of a source or asset with its key path below the entry."""
    for i, chk in enumerate(entry.spec.checks):
        yield ("checks", i), chk
    for col, col_spec in entry.spec.columns.items():
        for i, chk in enumerate(col_spec.checks):
            yield ("columns", col, "checks", i), chk


def text_location(pf: ParsedFile, keys: tuple[str | int, ...], line: int, col: int) -> Location:
    """File position of (line, col) inside the text value at ``keys`` (both 1-based)."""
    start = pf.value_location(*keys)
    if line <= 1:
        return Location(start.file, start.line, start.col + max(col, 1) - 1)
    # Lines after the first of a block scalar start at its indentation (the start column).
    return Location(start.file, start.line + line - 1, start.col + max(col, 1) - 1)
