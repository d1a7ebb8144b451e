"""Checks run on their own (the UI's "Execute", a check schedule, ``AssetSelection.checks``).

The checks are evaluated on the asset's current published output, with the result cache and
shortcuts as in a materialization, and reported for that output's data version; nothing is
written. Before any output exists, each selected check fails with a clear message.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.emit.dagster import asset_key, run_key

NO_OUTPUT = "asset has no output; materialize it first"


def selected_checks(context: dg.AssetExecutionContext, project: CompiledProject, node: Node) -> list[str]:
    selected = context.selected_asset_check_keys
    key = run_key(project, node.name)
    return [c.name for c in node.checks if dg.AssetCheckKey(key, c.name) in selected]


def has_output(project: CompiledProject, node: Node) -> bool:
    """Whether the node has published data to check (a Parquet output, or its DuckDB view)."""
    if node.is_dbt_view:
        import duckdb

        db = project.root / project.settings.duckdb_path
        if not db.exists():
            return False
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error:
            return True  # a writer holds the file: let the evaluation say what it finds
        try:
            rows = con.execute(
                "select 1 from duckdb_views() where schema_name = 'main' and view_name = ?", [node.name]
            ).fetchall()
            return bool(rows)
        finally:
            con.close()
    return project.output_path(node).exists()


def current_data_version(instance: dg.DagsterInstance, node: Node) -> str | None:
    """The data version of prod's latest materialization (the DVC md5), if any."""
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    event = instance.get_latest_materialization_event(asset_key(node.name))
    mat = event.asset_materialization if event is not None else None
    if mat is None:
        return None
    return (mat.tags or {}).get(DATA_VERSION_TAG)


def check_current_output(
    context: dg.AssetExecutionContext, project: CompiledProject, node: Node
) -> Iterator[dg.AssetCheckResult]:
    """Results of the selected checks of ``node`` on its current output; writes nothing."""
    from datacody_dagster.runtime.finalize import evaluate_node_checks

    names = selected_checks(context, project, node)
    if not names:
        return
    if not has_output(project, node):
        for name in names:
            check = next(c for c in node.checks if c.name == name)
            yield dg.AssetCheckResult(
                asset_key=run_key(project, node.name),
                check_name=name,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
                description=NO_OUTPUT,
                metadata={"datacody/reason": NO_OUTPUT, "datacody/spec": str(node.location)},
            )
        return
    version = current_data_version(context.instance, node)
    results, _ = evaluate_node_checks(context, project, node, version)
    yield from results
