"""Pure builder of Dagster specs from the plan: no I/O, no dbt parse.

Reused by the code location (definitions.py), the Dagster component and the load benchmark.
"""

from __future__ import annotations

import warnings

import dagster as dg

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.compiler.plan import Node
from datacody_dagster.run_markers import env_key_path
from datacody_dagster.spec.check_args import RelationshipsArgs

WRITER_TAG = "datacody/writer"
DUCKDB_POOL = "datacody_duckdb"
"""Dagster pool of the steps that open prod's DuckDB file (one writer at a time)."""


def duckdb_pool(project: CompiledProject) -> str:
    """The pool of the steps that open ``project``'s DuckDB file: an environment writes its own
    file (``data/envs/NAME/``), so it waits only for its own writers, never for prod's."""
    return DUCKDB_POOL if project.env == "prod" else f"{DUCKDB_POOL}__env_{project.env}"


def asset_key(name: str) -> dg.AssetKey:
    """Prod's key of asset ``name``."""
    return dg.AssetKey([name])


def run_key(project: CompiledProject, name: str) -> dg.AssetKey:
    """The key a run of ``project`` records asset ``name`` on: ``env/NAME/<asset>`` for an asset
    an environment rebuilds, so its candidate never shows as prod's latest materialization or
    check result (in the UI, to sensors and automation); prod's key for everything else (an
    environment reads the assets it does not rebuild from prod, so its lineage points at them)."""
    if project.env != "prod" and name in project.output_overrides:
        return dg.AssetKey(env_key_path(project.env, name))
    return asset_key(name)


def asset_name(key: dg.AssetKey) -> str:
    """The spec name of asset ``key``, prod's or an environment's."""
    return key.path[-1]


def kinds_for(node: Node) -> set[str]:
    if node.is_source:
        return {"duckdb", node.source_format or "file", "parquet"}
    if node.runs_in_dbt:
        return {"dbt", "duckdb", "parquet"}
    if node.kind == "sql":
        return {"spark", "parquet"}
    if node.kind == "python":
        return {"python", "parquet"}
    if node.kind == "export":
        return {"metricflow", "duckdb", "parquet"}
    return {"spark" if node.engine == "spark" else "duckdb", "parquet"}


def automation_for(node: Node) -> dg.AutomationCondition | None:
    if node.automation == "eager":
        return dg.AutomationCondition.eager()
    if node.automation and node.automation.startswith("on_cron:"):
        return dg.AutomationCondition.on_cron(node.automation.removeprefix("on_cron:"))
    return None


def code_reference(project: CompiledProject, node: Node) -> dg.CodeReferencesMetadataValue:
    """The spec file and line of a node, shown as "open in editor" in the Dagster UI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # code references are beta in 1.13
        return dg.CodeReferencesMetadataValue(
            code_references=[
                dg.LocalFileCodeReference(
                    file_path=str(project.root / node.location.file),
                    line_number=node.location.line,
                    label=f"spec of {node.name}",
                )
            ]
        )


def asset_spec_for(project: CompiledProject, node: Node) -> dg.AssetSpec:
    """The AssetSpec of one plan node."""
    metadata: dict[str, object] = {
        "dagster/code_references": code_reference(project, node),
        "datacody/spec": str(node.location),
        "datacody/engine": node.engine,
        "dagster/uri": project.output_path(node).as_uri(),
    }
    if node.kind == "sql":
        metadata["datacody/materialized"] = node.materialized
        metadata["datacody/sql"] = dg.MetadataValue.md(f"```sql\n{(node.sql or '').strip()}\n```")
    if node.kind == "export":
        metadata["datacody/saved_query"] = dg.MetadataValue.json(node.saved_query)
    if node.columns:
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=c,
                    type=node.column_types.get(c, "unknown"),
                    description=node.column_descriptions.get(c),
                )
                for c in node.columns
            ]
        )
    tags = {k: v for k, v in node.tags.items()}
    return dg.AssetSpec(
        key=run_key(project, node.name),
        deps=[run_key(project, d) for d in node.deps],
        description=node.description,
        group_name=node.group,
        owners=list(node.owners),
        kinds=kinds_for(node),
        code_version=node.fingerprint,
        metadata=metadata,
        tags=tags,
        automation_condition=automation_for(node),
        skippable=True,
    )


def check_spec_for(check: PlannedCheck, project: CompiledProject | None = None) -> dg.AssetCheckSpec:
    """An AssetCheckSpec; error severity is blocking (downstream does not run on bad data).
    ``project``: the run's project (an environment's checks are on its own keys); None: prod."""

    def key(name: str) -> dg.AssetKey:
        return run_key(project, name) if project is not None else asset_key(name)

    extra = [key(check.args.to)] if isinstance(check.args, RelationshipsArgs) else []
    return dg.AssetCheckSpec(
        name=check.name,
        asset=key(check.asset),
        description=f"{check.description} [{check.kind}, severity {check.severity}]",
        blocking=check.blocking,
        additional_deps=extra,
        metadata={
            "datacody/severity": check.severity,
            "datacody/kind": check.kind,
            "datacody/spec": str(check.location) if check.location else "",
        },
    )


def check_specs_for(node: Node, project: CompiledProject | None = None) -> list[dg.AssetCheckSpec]:
    return [check_spec_for(c, project) for c in node.checks]


def schedules_for(project: CompiledProject) -> list[dg.ScheduleDefinition]:
    """One schedule per asset with `schedule:` (materializes the asset and its checks)."""
    out = []
    for node in project.plan.nodes:
        if node.schedule:
            out.append(
                dg.ScheduleDefinition(
                    name=f"{node.name}_schedule",
                    cron_schedule=node.schedule,
                    target=dg.AssetSelection.assets(asset_key(node.name)),
                    description=f"From `schedule:` at {node.location}",
                )
            )
        out += check_schedules_for(node)
    return out


def check_schedules_for(node: Node) -> list[dg.ScheduleDefinition]:
    """One schedule per distinct cron of the node's checks; it runs those checks alone, on the
    current output (nothing is materialized)."""
    by_cron: dict[str, list[PlannedCheck]] = {}
    for check in node.checks:
        if check.schedule:
            by_cron.setdefault(check.schedule, []).append(check)
    out = []
    for i, (cron, checks) in enumerate(by_cron.items()):
        suffix = checks[0].name if len(checks) == 1 else f"checks_{i + 1}"
        out.append(
            dg.ScheduleDefinition(
                name=f"{node.name}__{suffix}_check_schedule",
                cron_schedule=cron,
                target=dg.AssetSelection.checks(
                    *(dg.AssetCheckKey(asset_key(node.name), c.name) for c in checks)
                ),
                description=f"Checks {', '.join(c.name for c in checks)} of {node.name} on the "
                f"current output (`schedule:` of the checks at {node.location})",
            )
        )
    return out
