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
from typing import TYPE_CHECKING, Any

import dagster as dg

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.emit.dagster import run_key
from datacody_dagster.errors import DatacodyError
from datacody_dagster.run_markers import ENV_BUILD_KEY
from datacody_dagster.runtime.env_run import is_prod, output_md5
from datacody_dagster.runtime.outputs import output_metadata
from datacody_dagster.runtime.staging import QuarantineEntry, publish, quarantine

if TYPE_CHECKING:
    from datacody_dagster.versioning.model import RecordedVersion


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
    key = run_key(project, node.name)
    checks = [c for c in node.checks if dg.AssetCheckKey(key, c.name) in selected]
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
            if other.is_dbt_view:
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
    results = [to_asset_check_result(o, key) for o in outcomes]
    failures = [o.check.name for o in outcomes if not o.passed and o.check.blocking]
    return results, failures


def _profile_metadata(
    project: CompiledProject, node: Node, staged: Path | None = None, data_version: str | None = None
) -> dict[str, Any]:
    """A compact column profile: the flywheel's memory (drift and distribution baselines,
    history-validated suggestions), so every materialization carries one. Views are profiled
    only when a check needs it (reading one attaches the DuckDB file a writer may hold)."""
    from datacody_dagster.spec.check_kinds import HISTORY_KINDS

    if node.is_dbt_view and not any(c.kind in HISTORY_KINDS for c in node.checks):
        return {}
    from datacody_dagster.checks.history import profile_for_metadata
    from datacody_dagster.checks.targets import target_for

    try:
        profile = profile_for_metadata(target_for(project, node, data_version=data_version, staged=staged))
    except Exception:  # a missing profile costs one baseline point, never the materialization
        return {}
    return {"datacody/profile": dg.MetadataValue.json(profile)}


def _candidate_md5(project: CompiledProject, staged: Path) -> str | None:
    """The DVC md5 the candidate will get (a single file's md5), so checks see the real version."""
    if not project.settings.dvc.enabled or not staged.is_file():
        return None
    from datacody_dagster.checks.history import file_md5

    return file_md5(staged)


@dataclass(frozen=True)
class Audited:
    """A node whose candidate passed its blocking checks and was published (not yet versioned)."""

    node: Node
    started: float
    metadata: dict[str, Any]
    failures: list[str]
    check_results: list[dg.AssetCheckResult]


def audit(
    context: dg.AssetExecutionContext | dg.OpExecutionContext,
    project: CompiledProject,
    node: Node,
    started: float,
    extra_metadata: dict[str, Any] | None = None,
    staged: Path | None = None,
) -> Audited | Finalized:
    """Metadata and checks of a node's output, then publish it (or quarantine it: Finalized).

    ``staged``: the candidate a writer just produced (None for views, whose data lives in the
    DuckDB file). It is published when no blocking check fails, else quarantined.
    """
    meta = output_metadata(project, node, staged)
    meta.update(extra_metadata or {})
    candidate_version = _candidate_md5(project, staged) if staged is not None else None
    meta.update(_profile_metadata(project, node, staged, candidate_version))  # one md5 pass, not two
    check_results, failures = evaluate_node_checks(context, project, node, candidate_version, staged)
    if failures and staged is not None:
        rows = getattr(meta.get("dagster/row_count"), "value", None)
        entry = quarantine(project, node, staged, context.run_id, failures, rows)
        note = {"datacody/quarantine": entry.relpath, "datacody/blocking_failures": ", ".join(failures)}
        check_results = [_with_metadata(r, note) for r in check_results]
        return Finalized(None, failures, check_results, entry)
    if staged is not None:
        publish(staged, project.output_path(node))
    return Audited(node, started, meta, failures, check_results)


def _versioned(project: CompiledProject, node: Node) -> bool:
    # An environment's outputs are versioned when `apply` promotes them (runtime/env_run.py).
    return project.settings.dvc.enabled and is_prod(project) and not node.is_dbt_view


def complete(
    project: CompiledProject, audited: list[Audited]
) -> tuple[list[Finalized], DatacodyError | None]:
    """Version published outputs with DVC (one hold of its lock for all) and build the results.

    Returns the results of the nodes that were versioned, in order, and the error that stopped
    versioning (the nodes after it get no result); each versioned node is in the environment
    state (what `datacody plan` reads) before this returns.
    """
    from datacody_dagster.versioning.env_state import record_held

    versions: dict[str, RecordedVersion] = {}
    error: DatacodyError | None = None
    to_record = [a.node for a in audited if _versioned(project, a.node)]
    if to_record:
        from datacody_dagster.versioning.recording import record_outputs

        outputs = [project.output_path(n) for n in to_record]
        batch = record_outputs(project.root, outputs, project.settings.dvc)
        versions = {n.name: v for n, v in zip(to_record, batch.versions, strict=False)}
        error = batch.error
    done: list[Finalized] = []
    for item in audited:
        node, meta = item.node, dict(item.metadata)
        version = versions.get(node.name)
        if version is None and _versioned(project, node):
            break  # versioning stopped before this node
        data_version = dg.DataVersion(version.md5) if version is not None else None
        if version is not None:
            meta["datacody/dvc_md5"] = dg.MetadataValue.text(version.md5)
            meta["datacody/dvc_file"] = dg.MetadataValue.path(str(version.dvc_file))
            meta["datacody/size_bytes"] = dg.MetadataValue.int(version.size)
        held = version.md5 if version is not None else None
        if not is_prod(project):
            held = output_md5(project.output_path(node))
            data_version = dg.DataVersion(held) if held else None  # as `apply` versions it in prod
            meta[ENV_BUILD_KEY] = dg.MetadataValue.text(project.env)
        record_held(project, node, held)  # for `datacody plan`
        meta["datacody/duration_s"] = dg.MetadataValue.float(round(time.monotonic() - item.started, 3))
        if item.failures:
            meta["datacody/blocking_failures"] = dg.MetadataValue.text(", ".join(item.failures))
        result: dg.MaterializeResult = dg.MaterializeResult(
            asset_key=run_key(project, node.name),
            metadata=meta,
            data_version=data_version,
            check_results=item.check_results,
        )
        done.append(Finalized(result, item.failures, item.check_results))
    return done, error


def finalize(
    context: dg.AssetExecutionContext | dg.OpExecutionContext,
    project: CompiledProject,
    node: Node,
    started: float,
    extra_metadata: dict[str, Any] | None = None,
    staged: Path | None = None,
) -> Finalized:
    """Audit a node's output and build its result (:func:`audit`, then :func:`complete`)."""
    audited = audit(context, project, node, started, extra_metadata, staged)
    if isinstance(audited, Finalized):
        return audited
    done, error = complete(project, [audited])
    if error is not None:
        raise error
    return done[0]


def _with_metadata(result: dg.AssetCheckResult, extra: dict[str, str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata={**dict(result.metadata or {}), **extra},
    )
