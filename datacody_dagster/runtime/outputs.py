"""Asset outputs: their metadata (writes live in engines/atomic.py, reads in engines/relations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.engines.relations import connect_for_reading, relation_for

PREVIEW_ROWS = 5


def _preview_markdown(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    def cell(v: Any) -> str:
        text = "" if v is None else str(v)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 40 else text[:37] + "..."

    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows[:PREVIEW_ROWS]]
    return "\n".join(lines)


def output_metadata(project: CompiledProject, node: Node, staged: Path | None = None) -> dict[str, Any]:
    """Row count, column schema, URI and a preview of the node's current output.

    With ``staged``, the figures are those of that candidate (the URI stays the published path).
    """
    import dagster as dg

    from datacody_dagster.runtime.up_to_date import CHECKS_VERSION_KEY, MTIME_KEY, checks_version

    is_view = node.is_dbt_view
    con = connect_for_reading(project, attach=is_view)
    try:
        relation = relation_for(project, node, staged)
        count = con.execute(f"select count(*) from {relation}").fetchall()[0]
        head = con.sql(f"select * from {relation} limit {PREVIEW_ROWS}")
        schema = head.to_arrow_table().schema  # Arrow's type names, as before
        columns = [dg.TableColumn(name=f.name, type=str(f.type)) for f in schema]
        # Rows from DuckDB, not Arrow's to_pylist: that imports pandas (~0.25 CPU-s) for a
        # timestamp with a time zone.
        rows = head.fetchall()
    finally:
        con.close()
    path = project.output_path(node)
    uri = (
        f"duckdb://{project.root / project.settings.duckdb_path}#main.{node.name}"
        if is_view
        else path.resolve().as_uri()
    )
    meta: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(int(count[0]) if count else 0),
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "dagster/uri": dg.MetadataValue.text(uri),
        "datacody/preview": dg.MetadataValue.md(_preview_markdown(list(schema.names), rows)),
        "datacody/code_version": dg.MetadataValue.text(node.fingerprint),
        "datacody/spec": dg.MetadataValue.text(str(node.location)),
    }
    sized = staged if staged is not None else path
    if sized.is_file():
        st = sized.stat()  # a publish renames the staged file: same inode, same mtime
        meta["datacody/size_bytes"] = dg.MetadataValue.int(st.st_size)
        meta[MTIME_KEY] = dg.MetadataValue.int(st.st_mtime_ns)  # the next run's "intact?" check
    meta[CHECKS_VERSION_KEY] = dg.MetadataValue.text(checks_version(node))
    return meta
