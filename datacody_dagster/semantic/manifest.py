"""dbt's semantic manifest for the project, parsed once per change of the generated files.

`dbt parse` (in process) turns the emitted semantic YAML into ``semantic_manifest.json``; it
costs seconds, so the result is kept under ``target/datacody_semantic/`` with a fingerprint of
the generated files and reused until they change. Its own target folder keeps it apart from
the manifests of materialization runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.emit.dbt import emit_dbt_files
from datacody_dagster.emit.files import atomic_write_text, sync_generated_files
from datacody_dagster.emit.semantic import emit_semantic_files
from datacody_dagster.errors import DatacodyError

TARGET = "target/datacody_semantic"


def _fingerprint(project: CompiledProject) -> str:
    files = {**emit_dbt_files(project), **emit_semantic_files(project)}
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    return digest.hexdigest()


def manifest_path(project: CompiledProject) -> Path:
    return project.root / project.settings.dbt_project_dir / TARGET / "semantic_manifest.json"


def semantic_manifest_json(project: CompiledProject) -> str:
    """The text of dbt's semantic_manifest.json for the current specs (parsing when stale)."""
    if project.semantic.empty:
        raise DatacodyError(
            "the project has no semantic layer: add `semantic:` to an asset and `metrics:` to its spec file"
        )
    path = manifest_path(project)
    stamp = path.with_name("datacody_fingerprint")
    fingerprint = _fingerprint(project)
    if path.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == fingerprint:
        return path.read_text(encoding="utf-8")
    sync_generated_files(project)
    # each process parses into its own folder, then renames: concurrent commands never read half a file
    scratch = path.parent / f"parse-{os.getpid()}"
    try:
        _dbt_parse(project, scratch)
        parsed = scratch / path.name
        if not parsed.exists():
            raise DatacodyError("dbt parse wrote no semantic_manifest.json")
        os.replace(parsed, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    atomic_write_text(stamp, fingerprint)
    return path.read_text(encoding="utf-8")


def _dbt_parse(project: CompiledProject, target: Path) -> None:
    from dbt.cli.main import dbtRunner

    dbt_dir = project.root / project.settings.dbt_project_dir
    args = ["parse", "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir)]
    args += ["--target-path", str(target), "--quiet", "--no-partial-parse"]
    result: Any = dbtRunner().invoke(args)
    if not result.success:
        detail = str(result.exception) if result.exception else "see dbt_project/logs/dbt.log"
        raise DatacodyError(f"dbt could not parse the semantic layer: {detail}")


def load_semantic_manifest(project: CompiledProject) -> Any:
    """MetricFlow's SemanticManifest for the project."""
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest

    return parse_manifest_from_dbt_generated_manifest(manifest_json_string=semantic_manifest_json(project))
