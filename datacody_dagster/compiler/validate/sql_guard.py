"""DC103/DC104: SQL parses (duckdb dialect) and is one SELECT/WITH query."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic, Location


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for entry in index.entries:
        problem = entry.sql_problem
        if problem is None:
            continue
        start = entry.file.value_location(entry.section, entry.name, "sql")
        if problem.line > 0:
            # Block scalars are indented by the key's column + 2, on every line alike.
            loc = Location(start.file, start.line + problem.line - 1, max(problem.col, 1) + start.col - 1)
        else:
            loc = start
        if problem.not_select:
            diags.append(
                Diagnostic(
                    errors.SQL_NOT_SELECT,
                    f"asset `{entry.name}`: {problem.message}",
                    loc,
                    "write the asset as a SELECT; datacody creates, replaces and writes the table itself",
                )
            )
        else:
            diags.append(
                Diagnostic(
                    errors.SQL_SYNTAX,
                    f"asset `{entry.name}`: {problem.message}",
                    loc,
                    "the SQL is read in the DuckDB dialect; check the clause near this position",
                )
            )
    return diags
