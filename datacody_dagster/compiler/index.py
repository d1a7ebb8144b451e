"""The project index: every source and asset of every spec file, with parsed SQL.

This is the input of validation and planning. It holds the spec models, their locations
and the SQL parse results, so that rules never parse twice.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.parse import ParsedFile
from datacody_dagster.errors import Location
from datacody_dagster.spec import AssetSpecModel, SourceSpec


@dataclass(frozen=True)
class Entry:
    """One source or asset as declared."""

    name: str
    file: ParsedFile
    section: str  # "sources" | "assets"
    spec: SourceSpec | AssetSpecModel
    query: exp.Expression | None = None
    sql_problem: sqlmod.SqlProblem | None = None
    sql_refs: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.file.group

    @property
    def is_source(self) -> bool:
        return self.section == "sources"

    def location(self, *keys: str | int) -> Location:
        return self.file.location(self.section, self.name, *keys)

    def declared_deps(self) -> list[str]:
        """Upstream names: from SQL, `deps:` and `from:`."""
        if isinstance(self.spec, SourceSpec):
            return []
        deps = list(self.sql_refs)
        for name in [*self.spec.deps, *([self.spec.from_] if self.spec.from_ else [])]:
            if name not in deps:
                deps.append(name)
        return deps


@dataclass
class ProjectIndex:
    root: Path
    files: list[ParsedFile]
    entries: list[Entry] = field(default_factory=list)
    known_columns: dict[str, list[str] | None] | None = None
    """Filled once by compiler.columns.known_columns (validation and planning share it)."""

    def by_name(self) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for e in self.entries:
            out.setdefault(e.name, e)
        return out


def build_index(root: Path, files: list[ParsedFile]) -> ProjectIndex:
    index = ProjectIndex(root=root, files=files)
    for pf in files:
        for name, source in pf.spec.sources.items():
            index.entries.append(Entry(name, pf, "sources", source))
        for name, asset in pf.spec.assets.items():
            if asset.sql is None:
                index.entries.append(Entry(name, pf, "assets", asset))
                continue
            parsed = sqlmod.parse_select(asset.sql)
            if isinstance(parsed, sqlmod.SqlProblem):
                index.entries.append(Entry(name, pf, "assets", asset, sql_problem=parsed))
            else:
                refs = tuple(sqlmod.referenced_tables(parsed))
                index.entries.append(Entry(name, pf, "assets", asset, query=parsed, sql_refs=refs))
    return index


def source_header_columns(root: Path, source: SourceSpec) -> list[str] | None:
    """Column names of a CSV source from its header line (no data read), when cheap to know."""
    fmt = source.format or Path(source.path).suffix.lstrip(".").lower()
    if fmt != "csv" or any(ch in source.path for ch in "*?["):
        return None
    path = root / source.path
    try:
        if not path.is_file():
            return None
    except OSError:  # e.g. a name longer than the file system allows
        return None
    delim = str(source.options.get("delim", source.options.get("delimiter", ",")))
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh, delimiter=delim), None)
    except (OSError, UnicodeDecodeError, csv.Error, TypeError):  # TypeError: a 2-char delimiter
        return None
    if not header or source.options.get("header") is False:
        return None
    return [h.strip() for h in header]
