"""Errors and diagnostics shared by every stage.

A :class:`Diagnostic` is plain data: a stable code, a severity, a message, a source
location and a hint. Stages collect diagnostics instead of raising on the first problem, so
a user sees every error of a run at once. :class:`DatacodyError` carries a list of them to
the CLI, which prints them and exits 1 without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A position in a spec file; line and column are 1-based."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        if self.col <= 0:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.col}"


# Stable codes: tests, docs and users grep for these, never renumber them.
YAML_SYNTAX = "DC001"
SPEC_SCHEMA = "DC002"
DUPLICATE_ASSET = "DC100"
UNKNOWN_DEPENDENCY = "DC101"
DEPENDENCY_CYCLE = "DC102"
SQL_SYNTAX = "DC103"
SQL_NOT_SELECT = "DC104"
UNKNOWN_COLUMN = "DC105"
INVALID_ASSET = "DC106"
INVALID_PYTHON_REF = "DC107"
INVALID_SCHEDULE = "DC108"
INVALID_SEMANTIC = "DC120"
UNKNOWN_SEMANTIC_NAME = "DC121"
UNSAFE_SQL = "DC110"  # file-reading functions, statements or subqueries where a predicate goes
UNSAFE_TEXT = "DC111"  # Jinja in text that reaches dbt
UNSAFE_OPTION = "DC113"
UNSAFE_PATH = "DC114"
UNSAFE_PYTHON = "DC115"
STALE_GENERATED = "DC200"
RUNTIME = "DC300"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the user's project."""

    code: str
    message: str
    location: Location | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity.value} {self.code}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class DatacodyError(Exception):
    """Raised with one or more diagnostics; the CLI prints them and exits 1."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic | str):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(RUNTIME, diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = diagnostics
        super().__init__("\n".join(d.format() for d in diagnostics))


def relative_display_path(path: Path, root: Path) -> str:
    """The path as users see it in messages: relative to the project root when possible."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
