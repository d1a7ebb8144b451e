"""Write-audit-publish around a dbt invocation.

dbt-duckdb's external materialization writes a model's file and creates a view in the DuckDB
file that reads it; downstream models read the view through ``ref()``. Under Datacody the file
is the candidate at its staging name (see ``emit/dbt.py``), so after the candidates are
published (or quarantined) each view is pointed back at the published output, the path every
later run, view and check reads. Runs inside the dbt step, which holds the DuckDB writer slot.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.engines.relations import sql_string
from datacody_dagster.runtime.staging import DBT_STAGE_ENV
from datacody_dagster.spec.check_args import RelationshipsArgs


@contextlib.contextmanager
def staging_dbt(project: CompiledProject, nodes: Sequence[Node], log: Any = None) -> Iterator[None]:
    """Run dbt with candidates going to staging names.

    A dbt step killed before its views were re-pointed leaves candidates (and views reading
    them): they are removed and the views of ``nodes`` pointed back at the published outputs.
    """
    from datacody_dagster.temp_names import parse
    from datacody_dagster.versioning.recovery import clean_temp_outputs

    # An environment's dbt step holds its own DuckDB file's pool, not prod's: it cleans only its
    # own output folders, never the candidates of a prod dbt step running beside it.
    own = None
    if project.env != "prod":
        own = sorted({project.output_path(n).parent for n in nodes if n.name in project.output_overrides})
    removed = clean_temp_outputs(project.root, dbt_stages=True, folders=own)
    if any((t := parse(p.name)) is not None and t.is_dbt_stage for p in removed):
        repoint_views(project, nodes, log)
    previous = os.environ.get(DBT_STAGE_ENV)
    os.environ[DBT_STAGE_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(DBT_STAGE_ENV, None)
        else:
            os.environ[DBT_STAGE_ENV] = previous


def _external(node: Node) -> bool:
    return node.runs_in_dbt and node.materialized == "table" and not node.partition_by


def reads_views(project: CompiledProject, node: Node) -> bool:
    """Whether describing or checking ``node`` reads DuckDB views (its own, or the target of a
    ``relationships`` check): those views may read the views of models published just before."""
    refs = [c.params_as(RelationshipsArgs).to for c in node.checks if c.kind == "relationships"]
    involved = [node, *(project.plan.node(r) for r in refs if r in project.plan.names)]
    return any(n.is_dbt_view for n in involved)


def repoint_views(project: CompiledProject, nodes: Sequence[Node], log: Any = None) -> None:
    """Point the DuckDB views of external models at their published outputs."""
    import duckdb

    wanted = [n for n in nodes if _external(n) and project.output_path(n).is_file()]
    db = project.root / project.settings.duckdb_path
    if not wanted or not db.exists():
        return
    dbt_dir = project.root / project.settings.dbt_project_dir
    try:
        con = duckdb.connect(str(db))
    except duckdb.Error as exc:  # pragma: no cover - only when another process holds the file
        if log is not None:
            log.warning(f"could not re-point dbt views at published outputs: {exc}")
        return
    try:
        con.execute(f"set file_search_path = {sql_string(str(dbt_dir))}")
        for node in wanted:
            # The same relative form dbt writes (views resolve it against the dbt project folder).
            rel = os.path.relpath(project.output_path(node), dbt_dir)
            con.execute(
                f'create or replace view main."{node.name}" as '
                f"select * from read_parquet({sql_string(rel)}, union_by_name=false)"
            )
    finally:
        con.close()


def staged_candidate(project: CompiledProject, node: Node) -> Path | None:
    """The candidate dbt wrote for ``node`` (None for views, which keep their meaning)."""
    from datacody_dagster.runtime.staging import dbt_stage_path

    if node.is_dbt_view:
        return None
    path = dbt_stage_path(project, node)
    return path if path.exists() else None
