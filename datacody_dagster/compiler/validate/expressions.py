"""DC110: `expression:` checks are one scalar predicate; `sql:` checks are one SELECT."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.compiler.sql import SqlProblem
from datacody_dagster.compiler.sql_safety import parse_predicate
from datacody_dagster.compiler.validate.walk import entry_checks, text_location
from datacody_dagster.errors import Diagnostic


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for entry in index.entries:
        for keys, chk in entry_checks(entry):
            if not isinstance(chk.value, str):
                continue
            path = (entry.section, entry.name, *keys, chk.kind)
            if chk.kind == "expression":
                parsed = parse_predicate(chk.value)
                if isinstance(parsed, SqlProblem):
                    diags.append(
                        Diagnostic(
                            errors.UNSAFE_SQL,
                            f"`{entry.name}`: expression check: {parsed.message}",
                            text_location(entry.file, path, parsed.line, parsed.col),
                            "write one condition every row must satisfy, e.g. `amount >= 0`",
                        )
                    )
            elif chk.kind == "sql":
                problem = sqlmod.parse_select(chk.value)
                if isinstance(problem, sqlmod.SqlProblem):
                    diags.append(
                        Diagnostic(
                            errors.SQL_NOT_SELECT if problem.not_select else errors.SQL_SYNTAX,
                            f"`{entry.name}`: sql check: {problem.message}",
                            text_location(entry.file, path, problem.line, problem.col),
                            "write one SELECT returning the failing rows",
                        )
                    )
    return diags
