"""Load a raw source file (csv, parquet, json; globs) into its Parquet output."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.emit.dbt import source_read_sql
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.runtime.outputs import copy_query_to_parquet_atomic, write_parquet_atomic


def load_source(project: CompiledProject, node: Node, output: Path | None = None) -> Path:
    """Read the source's files with DuckDB and write them atomically to ``output`` (a staging
    path under write-audit-publish; default: the published output)."""
    import duckdb

    output = output or project.output_path(node)
    if node.source_format == "text":
        from datacody_dagster.engines.text_source import load_text_source

        write_parquet_atomic(load_text_source(project.root, node.source_path or ""), output)
        return output
    con = duckdb.connect()
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
