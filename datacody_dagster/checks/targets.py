"""Where an asset's data is: a :class:`CheckTarget` for a node of a compiled project.

Tables and Python assets are Parquet files; `materialized: view` assets (dbt views) live as views
in the project's DuckDB file (whose relative paths resolve against the dbt project directory); a source
not yet loaded into the warehouse is read from its raw file.
"""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.checks.model import CheckTarget
from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.engines.relations import relation_for
from datacody_dagster.spec.check_args import RelationshipsArgs


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def version_of(project: CompiledProject, node: Node) -> str | None:
    """Cheap data fingerprint (size, mtime) of a node's single-file output."""
    out = project.output_path(node)
    if node.is_dbt_view or node.partition_by or not out.is_file():
        return None
    st = out.stat()
    return f"file:{out}:{st.st_size}:{st.st_mtime_ns}"


def target_for(
    project: CompiledProject,
    node: Node,
    *,
    data_version: str | None = None,
    run_id: str | None = None,
    staged: Path | None = None,
) -> CheckTarget:
    """The check target of ``node``'s current output (or of a staged candidate, ``staged``)."""
    out = staged if staged is not None else project.output_path(node)
    parquet = out if (out.is_file() and (staged is not None or not node.is_dbt_view)) else None
    refs = {c.args.to for c in node.checks if isinstance(c.args, RelationshipsArgs)}
    involved = [node, *(project.plan.node(r) for r in refs if r in project.plan.names)]
    needs_db = any(n.is_dbt_view for n in involved)

    def resolve(name: str) -> str:
        return relation_for(project, project.plan.node(name))

    def resolve_version(name: str) -> str | None:
        return version_of(project, project.plan.node(name))

    return CheckTarget(
        asset=node.name,
        relation=relation_for(project, node, staged),
        parquet_path=parquet,
        data_version=data_version,
        resolve=resolve,
        duckdb_database=(project.root / project.settings.duckdb_path) if needs_db else None,
        resolve_version=resolve_version,
        run_id=run_id,
        search_path=(project.root / project.settings.dbt_project_dir) if needs_db else None,
        sandbox=_sandbox(project),
        proven_unique_keys=node.proven_unique_keys,
        proven_not_null=node.proven_not_null,
    )


def _sandbox(project: CompiledProject) -> tuple[Path, ...] | None:
    from datacody_dagster.engines.sandbox import project_directories

    dirs = project_directories(project)
    return None if dirs is None else tuple(dirs)
