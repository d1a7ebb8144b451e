"""DC101: every referenced asset exists (the error names the closest existing name)."""

from __future__ import annotations

import difflib

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec import AssetSpecModel


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if close:
        return f"did you mean `{close[0]}`?"
    return "declare it under `sources:` (a raw file) or `assets:` in a spec file"


def check(index: ProjectIndex) -> list[Diagnostic]:
    known = sorted({e.name for e in index.entries})
    diags: list[Diagnostic] = []
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel):
            continue
        for name in entry.sql_refs:
            if name not in known:
                loc = entry.file.value_location(entry.section, entry.name, "sql")
                line_no = line_of(spec.sql or "", name)
                diags.append(
                    Diagnostic(
                        errors.UNKNOWN_DEPENDENCY,
                        f"asset `{entry.name}` reads unknown asset `{name}`",
                        Location(loc.file, loc.line + line_no, loc.col),
                        _hint(name, known),
                    )
                )
        for key, names in (("deps", spec.deps), ("from", [spec.from_] if spec.from_ else [])):
            for i, name in enumerate(names):
                if name not in known:
                    where = entry.location(key, i) if key == "deps" else entry.location(key)
                    diags.append(
                        Diagnostic(
                            errors.UNKNOWN_DEPENDENCY,
                            f"asset `{entry.name}` depends on unknown asset `{name}`",
                            where,
                            _hint(name, known),
                        )
                    )
        for i, chk in enumerate(spec.checks):
            if chk.kind == "relationships" and chk.relationships and chk.relationships.to not in known:
                where = entry.location("checks", i)
                diags.append(
                    Diagnostic(
                        errors.UNKNOWN_DEPENDENCY,
                        f"relationships check of `{entry.name}` points to unknown asset "
                        f"`{chk.relationships.to}`",
                        where,
                        _hint(chk.relationships.to, known),
                    )
                )
    return diags


def line_of(sql: str, name: str) -> int:
    """0-based line inside the SQL where ``name`` first appears."""
    lowered = name.lower()
    for i, line in enumerate(sql.splitlines()):
        if lowered in line.lower():
            return i
    return 0
