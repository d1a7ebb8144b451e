"""After an output is written: metadata, checks, then publish + DVC version (or quarantine).

Write-audit-publish: a writer puts its candidate at a staging path (``runtime/staging.py``);
the blocking checks run on that candidate; only when they pass is it renamed onto the
published output and recorded as the current DVC version. A candidate that fails them goes to
the quarantine and the published output and its version stay as they were. Views have no
stored output: their checks gate downstream as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dagster as dg

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.emit.dagster import asset_key
from datacody_dagster.runtime.outputs import output_metadata
from datacody_dagster.runtime.staging import QuarantineEntry, publish, quarantine


@dataclass(frozen=True)
class Finalized:
    """The outcome for one node: a materialization to yield, or quarantined check results."""

    result: dg.MaterializeResult | None
    blocking_failures: list[str]
    check_results: list[dg.AssetCheckResult] = field(default_factory=list)
    quarantine: QuarantineEntry | None = None

    def events(self) -> list[dg.MaterializeResult | dg.AssetCheckResult]:
        """What the step yields: the materialization (with its checks), or the checks alone."""
        return [self.result] if self.result is not None else list(self.check_results)


def _record_version(project: CompiledProject, node: Node) -> tuple[dict[str, Any], dg.DataVersion | None]:
    if not project.settings.dvc.enabled or (node.kind == "sql" and node.materialized == "view"):
        return {}, None
    from datacody_dagster.versioning import record_output

    version = record_output(project.root, project.output_path(node), project.settings.dvc)
    meta = {
        "datacody/dvc_md5": dg.MetadataValue.text(version.md5),
        "datacody/dvc_file": dg.MetadataValue.path(str(version.dvc_file)),
        "datacody/size_bytes": dg.MetadataValue.int(version.size),
    }
    return meta, dg.DataVersion(version.md5)


def evaluate_node_checks(
    context: dg.AssetExecutionContext | dg.OpExecutionContext,
    project: CompiledProject,
    node: Node,
    data_version: str | None,
    staged: Path | None = None,
) -> tuple[list[dg.AssetCheckResult], list[str]]:
    if not node.checks:
        return [], []
    from datacody_dagster.checks import evaluate_checks
    from datacody_dagster.checks.cache import ResultCache
    from datacody_dagster.checks.dagster_results import to_asset_check_result
    from datacody_dagster.checks.history import DagsterCheckHistory
    from datacody_dagster.checks.targets import target_for

    selected = context.selected_asset_check_keys
    checks = [c for c in node.checks if dg.AssetCheckKey(asset_key(node.name), c.name) in selected]
    if not checks:
        return [], []
    target = target_for(project, node, data_version=data_version, run_id=context.run_id, staged=staged)
    started = time.monotonic()
    history, cache = DagsterCheckHistory(context.instance), ResultCache.for_project(project.root)
    if node.engine == "spark" and target.parquet_path is not None:
        # Checks on a Spark asset run on Spark; the kinds Spark does not evaluate fall back to DuckDB.
        from datacody_dagster.checks.spark import evaluate_spark_asset_checks

        def resolve_path(name: str) -> Path:
            other = project.plan.node(name)
            if other.kind == "sql" and other.materialized == "view" and other.engine == "duckdb":
                raise LookupError(f"{name} is a DuckDB view")  # its checks stay on DuckDB
            return project.output_path(other)

        # The run's `spark` resource when the step has it (Spark assets), else the settings.
        spark = getattr(context.resources, "spark", None)
        outcomes = evaluate_spark_asset_checks(
            target,
            checks,
            spark.spark_session if spark is not None else project.settings.spark,
            resolve_path,
            history=history,
            cache=cache,
        )
    else:
        outcomes = evaluate_checks(target, checks, history=history, cache=cache)
    # Checks share their passes over the data, so each gets an even share of the time; the
    # optimizer reads it to spot costly checks that never fail.
    share = round((time.monotonic() - started) / max(len(outcomes), 1), 4)
    outcomes = [replace(o, metadata={**o.metadata, "duration_s": share}) for o in outcomes]
    results = [to_asset_check_result(o) for o in outcomes]
    failures = [o.check.name for o in outcomes if not o.passed and o.check.blocking]
    return results, failures


def _profile_metadata(project: CompiledProject, node: Node, staged: Path | None = None) -> dict[str, Any]:
    """A compact column profile: the flywheel's memory (drift and distribution baselines,
    history-validated suggestions), so every materialization carries one. Views are profiled
    only when a check needs it (reading one attaches the DuckDB file a writer may hold)."""
    from datacody_dagster.spec.check_kinds import HISTORY_KINDS

    if node.materialized == "view" and not any(c.kind in HISTORY_KINDS for c in node.checks):
        return {}
    from datacody_dagster.checks.history import profile_for_metadata
    from datacody_dagster.checks.targets import target_for

    try:
        profile = profile_for_metadata(target_for(project, node, staged=staged))
    except Exception:  # a missing profile costs one baseline point, never the materialization
        return {}
    return {"datacody/profile": dg.MetadataValue.json(profile)}


def _candidate_md5(project: CompiledProject, staged: Path) -> str | None:
    """The DVC md5 the candidate will get (a single file's md5), so checks see the real version."""
    if not project.settings.dvc.enabled or not staged.is_file():
        return None
    from datacody_dagster.checks.history import file_md5

    return file_md5(staged)


def finalize(
    context: dg.AssetExecutionContext | dg.OpExecutionContext,
    project: CompiledProject,
    node: Node,
    started: float,
    extra_metadata: dict[str, Any] | None = None,
    staged: Path | None = None,
) -> Finalized:
    """Audit a node's output and build its result.

    ``staged``: the candidate a writer just produced (None for views, whose data lives in the
    DuckDB file). It is published when no blocking check fails, else quarantined.
    """
    meta = output_metadata(project, node, staged)
    meta.update(extra_metadata or {})
    meta.update(_profile_metadata(project, node, staged))
    candidate_version = _candidate_md5(project, staged) if staged is not None else None
    check_results, failures = evaluate_node_checks(context, project, node, candidate_version, staged)
    if failures and staged is not None:
        rows = getattr(meta.get("dagster/row_count"), "value", None)
        entry = quarantine(project, node, staged, context.run_id, failures, rows)
        note = {"datacody/quarantine": entry.relpath, "datacody/blocking_failures": ", ".join(failures)}
        check_results = [_with_metadata(r, note) for r in check_results]
        return Finalized(None, failures, check_results, entry)
    if staged is not None:
        publish(staged, project.output_path(node))
    version_meta, data_version = _record_version(project, node)
    meta.update(version_meta)
    from datacody_dagster.versioning.env_state import record_held

    record_held(project, node, data_version.value if data_version else None)  # for `datacody plan`
    meta["datacody/duration_s"] = dg.MetadataValue.float(round(time.monotonic() - started, 3))
    if failures:
        meta["datacody/blocking_failures"] = dg.MetadataValue.text(", ".join(failures))
    result: dg.MaterializeResult = dg.MaterializeResult(
        asset_key=asset_key(node.name),
        metadata=meta,
        data_version=data_version,
        check_results=check_results,
    )
    return Finalized(result, failures, check_results)


def _with_metadata(result: dg.AssetCheckResult, extra: dict[str, str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata={**dict(result.metadata or {}), **extra},
    )
