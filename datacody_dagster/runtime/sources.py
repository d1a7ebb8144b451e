"""Load a raw source file (csv, parquet, json; globs) into its Parquet output."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.paths import escaping_match, path_problem
from datacody_dagster.compiler.plan import Node
from datacody_dagster.emit.dbt import source_read_sql
from datacody_dagster.engines.atomic import copy_query_to_parquet_atomic, write_parquet_atomic
from datacody_dagster.engines.sandbox import confined_connection, project_directories
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic


def load_source(project: CompiledProject, node: Node, output: Path | None = None) -> Path:
    """Read the source's files with DuckDB and write them atomically to ``output`` (a staging
    path under write-audit-publish; default: the published output)."""
    import duckdb

    output = output or project.output_path(node)
    _refuse_escaping_path(project, node)
    if node.source_format == "text":
        from datacody_dagster.engines.text_source import load_text_source

        write_parquet_atomic(load_text_source(project.root, node.source_path or ""), output)
        return output
    con = confined_connection(project_directories(project))
    try:
        query = f"select * from {source_read_sql(project, node, str(project.root) + '/')}"
        copy_query_to_parquet_atomic(con, query, output)
    except duckdb.Error as exc:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"cannot load source `{node.name}` from {node.source_path}: {str(exc).splitlines()[0]}",
                node.location,
                "check the path (relative to the project root) and the reader `options:`",
            )
        ) from None
    finally:
        con.close()
    return output


def _refuse_escaping_path(project: CompiledProject, node: Node) -> None:
    """Check the path again right before reading: a symlink may have appeared since validate."""
    path = node.source_path or ""
    allow = bool(getattr(project.settings, "allow_external_access", False))
    problem = path_problem(path, allow)
    if problem is None and not allow:
        outside = escaping_match(project.root, path)
        if outside is not None:
            problem = f"{outside} resolves outside the project (a symbolic link?)"
    if problem is not None:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"source `{node.name}` is not loaded: {problem}",
                node.location,
                "keep source files inside the project, or set `allow_external_access: true` "
                "in resources/<env>.yaml",
            )
        )
