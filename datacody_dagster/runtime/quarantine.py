"""The quarantine: candidates that failed their blocking checks, to inspect, publish or drop.

A forced publish renames the candidate onto the published output, records it with DVC and
reports a materialization marked ``datacody/forced_publish`` (so `history` and the UI show it as
current, and as forced), then points dbt's view back at the output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.emit.dagster import asset_key
from datacody_dagster.engines.atomic import remove
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.runtime.staging import QuarantineEntry, publish, quarantine_root

if TYPE_CHECKING:
    import dagster as dg

FORCED = "datacody/forced_publish"


def list_entries(project: CompiledProject, asset: str | None = None) -> list[QuarantineEntry]:
    """Quarantined candidates, newest first (optionally of one asset)."""
    return _entries(quarantine_root(project), asset)


def env_entries(project: CompiledProject) -> list[tuple[str, QuarantineEntry]]:
    """The candidates environments quarantined (``data/envs/NAME/.quarantine``), with the env's
    name, newest first. Listed only: `publish` and `drop` work on the project's own quarantine,
    so an environment's failed candidate can never be released into prod."""
    from datacody_dagster.versioning.env_state import ENVS_DIR

    envs = project.root / ENVS_DIR
    found = [
        (folder.parent.name, e)
        for folder in sorted(envs.glob("*/.quarantine"))
        for e in _entries(folder, None)
    ]
    return sorted(found, key=lambda pair: pair[1].created_at, reverse=True)


def _entries(root: Path, asset: str | None) -> list[QuarantineEntry]:
    if not root.is_dir():
        return []
    entries = []
    for sidecar in root.glob("*/*/*.json"):
        try:
            entry = QuarantineEntry(**json.loads(sidecar.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            continue
        if asset is None or entry.asset == asset:
            entries.append(entry)
    return sorted(entries, key=lambda e: e.created_at, reverse=True)


def find_entry(
    project: CompiledProject, asset: str, run: str | None = None, env: str | None = None
) -> QuarantineEntry:
    """The newest candidate of ``asset``, or the one of run ``run`` (a unique prefix is enough);
    ``env``: among environment ``env``'s candidates (to read only: see :func:`env_entries`)."""
    if env is None or env == project.env:
        entries = list_entries(project, asset)
    else:
        entries = [e for name, e in env_entries(project) if name == env and e.asset == asset]
    if run is not None:
        entries = [e for e in entries if e.run_id.startswith(run)]
    if not entries:
        which = f" from run {run}" if run else ""
        where = f" in env `{env}`" if env is not None and env != project.env else ""
        others = sorted({name for name, e in env_entries(project) if e.asset == asset} - {env})
        hint = "`datacody quarantine list` shows what is quarantined"
        if others and where == "":
            hint = f"env `{others[0]}` has one: `datacody quarantine show {asset} --env {others[0]}`"
        raise DatacodyError(
            Diagnostic(RUNTIME, f"no quarantined candidate of `{asset}`{which}{where}", hint=hint)
        )
    return entries[0]


def drop_entry(project: CompiledProject, entry: QuarantineEntry) -> None:
    """Delete a candidate and its description."""
    candidate = entry.path(project.root)
    remove(candidate)
    QuarantineEntry.sidecar(candidate).unlink(missing_ok=True)
    _prune(candidate.parent)


def publish_entry(
    project: CompiledProject, entry: QuarantineEntry, instance: dg.DagsterInstance
) -> str | None:
    """Make a candidate the current output despite its failed checks; returns its DVC md5."""
    import dagster as dg
    from dagster._core.definitions.data_version import CODE_VERSION_TAG, DATA_VERSION_TAG

    from datacody_dagster.runtime.outputs import output_metadata

    node = project.plan.node(entry.asset)
    candidate = entry.path(project.root)
    if not candidate.exists():
        raise DatacodyError(
            Diagnostic(RUNTIME, f"the candidate {entry.relpath} is missing", hint="drop this entry")
        )
    output = project.output_path(node)
    publish(candidate, output)
    QuarantineEntry.sidecar(candidate).unlink(missing_ok=True)
    meta: dict[str, Any] = output_metadata(project, node)
    md5 = None
    if project.settings.dvc.enabled:
        from datacody_dagster.versioning import record_output

        version = record_output(project.root, output, project.settings.dvc)
        md5 = version.md5
        meta["datacody/dvc_md5"] = dg.MetadataValue.text(version.md5)
        meta["datacody/dvc_file"] = dg.MetadataValue.path(str(version.dvc_file))
    meta[FORCED] = dg.MetadataValue.bool(True)
    meta["datacody/quarantine_run"] = dg.MetadataValue.text(entry.run_id)
    meta["datacody/blocking_failures"] = dg.MetadataValue.text(", ".join(entry.failing_checks))
    tags = {CODE_VERSION_TAG: node.fingerprint}
    if md5:
        tags[DATA_VERSION_TAG] = md5
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=asset_key(node.name),
            description=(
                f"forced publish of the candidate of run {entry.run_id} "
                f"(failed: {', '.join(entry.failing_checks)})"
            ),
            metadata=meta,
            tags=tags,
        )
    )
    if node.runs_in_dbt:
        from datacody_dagster.runtime.dbt_staging import repoint_views

        repoint_views(project, [node])
    _prune(candidate.parent)
    return md5


def _prune(folder: Path) -> None:
    """Remove empty quarantine folders of an asset."""
    for path in (folder, folder.parent):
        try:
            path.rmdir()
        except OSError:
            return
