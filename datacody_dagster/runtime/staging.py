"""Write-audit-publish paths: where candidates are staged, published and quarantined.

- A writer puts its candidate at :func:`stage_path` (in a hidden staging folder beside the
  published output, so publishing is one rename on the same filesystem, never a copy). dbt writes to a
  fixed name instead (:func:`dbt_stage_path`), compiled into the model's ``location``.
- :func:`publish` renames the candidate onto the output.
- :func:`quarantine` renames it to ``data/quarantine/<group>/<asset>/<run_id>.parquet`` with a
  ``<run_id>.json`` beside it (failing checks, rows, spec), which `datacody quarantine` reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.engines.atomic import discard, place, remove, temp_sibling
from datacody_dagster.temp_names import dbt_stage_name, parse

DBT_STAGE_ENV = "DATACODY_DBT_STAGE"
"""Set to 1 while Datacody runs dbt: models then write their candidates to the staging name
(a standalone `dbt build` of the emitted project writes the published paths directly)."""


def stage_path(project: CompiledProject, node: Node) -> Path:
    """A fresh staging path for ``node``'s next candidate.

    The candidate keeps the output's own (visible) name inside a hidden staging folder named
    for this process: Spark and Hadoop skip files whose names start with a dot, and recovery
    removes the folder once its writer is gone.
    """
    out = project.output_path(node)
    folder = temp_sibling(out, "stage")
    folder.mkdir()
    return folder / out.name


def _release(staged: Path) -> None:
    """Remove the staging folder around a candidate that was moved away or discarded."""
    parsed = parse(staged.parent.name)
    if parsed is not None and parsed.kind == "stage":
        remove(staged.parent)


def dbt_stage_path(project: CompiledProject, node: Node) -> Path:
    """Where dbt writes ``node``'s candidate (a fixed name: it is compiled into the model)."""
    out = project.output_path(node)
    return out.with_name(dbt_stage_name(out.name))


def publish(staged: Path, output: Path) -> None:
    """Make the audited candidate the published output (rename; a folder by two renames)."""
    place(staged, output)
    _release(staged)


def quarantine_root(project: CompiledProject) -> Path:
    """``data/quarantine`` beside the warehouse folder (same filesystem: a move is a rename);
    an environment's candidates stay in its own folder, never where prod's can be released."""
    if project.env != "prod":
        from datacody_dagster.versioning.env_state import env_output_root

        return env_output_root(project.root, project.env) / ".quarantine"
    return project.warehouse_dir.parent / "quarantine"


@dataclass(frozen=True)
class QuarantineEntry:
    """A candidate that failed its blocking checks, kept for inspection."""

    asset: str
    group: str
    run_id: str
    relpath: str  # the candidate, relative to the project root
    rows: int | None
    failing_checks: list[str]
    spec: str
    created_at: str

    def path(self, root: Path) -> Path:
        return root / self.relpath

    @staticmethod
    def sidecar(candidate: Path) -> Path:
        return candidate.with_name(candidate.name.removesuffix(".parquet") + ".json")


def quarantine(
    project: CompiledProject,
    node: Node,
    staged: Path,
    run_id: str,
    failing: list[str],
    rows: int | None,
) -> QuarantineEntry:
    """Move a failed candidate into the quarantine and describe it."""
    suffix = "" if staged.is_dir() else ".parquet"
    dest = quarantine_root(project) / node.group / node.name / f"{run_id}{suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    entry = QuarantineEntry(
        asset=node.name,
        group=node.group,
        run_id=run_id,
        relpath=os.path.relpath(dest, project.root),
        rows=rows,
        failing_checks=list(failing),
        spec=str(node.location),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    # The description first, then the data: a kill in between leaves a described empty slot
    # (listed as missing data), never anonymous data.
    tmp = temp_sibling(QuarantineEntry.sidecar(dest))
    tmp.write_text(json.dumps(asdict(entry), indent=2), encoding="utf-8")
    os.replace(tmp, QuarantineEntry.sidecar(dest))
    place(staged, dest)
    _release(staged)
    return entry


def drop_stage(staged: Path | None) -> None:
    """Remove a candidate whose writer failed."""
    if staged is not None:
        discard(staged)
        _release(staged)
