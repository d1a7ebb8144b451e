"""The only writer of generated files, with a `--check` mode for CI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.emit.dbt import GENERATED_DIR, emit_dbt_files, scaffold_files
from datacody_dagster.emit.dbt_profile import require_confined_profile
from datacody_dagster.emit.semantic import emit_semantic_files
from datacody_dagster.temp_names import temp_name


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def stale(self) -> list[str]:
        return [*self.written, *self.removed]


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_SYNCED: dict[Path, CompiledProject] = {}
"""Per dbt folder, the compiled project whose files this process wrote last. Headless materialize
syncs before the run and its dbt step syncs again (the step must, under `dagster dev`): with the
same compiled project in the same process, the second sync has nothing to do."""


def sync_generated_files(project: CompiledProject, check_only: bool = False) -> WriteReport:
    """Write the dbt files of the plan (or, with ``check_only``, report what is stale).

    A second sync of the same compiled project in this process writes nothing and returns an
    empty report (compile a new project to pick up spec changes).
    """
    dbt_dir = project.root / project.settings.dbt_project_dir
    report = WriteReport()
    if not check_only:
        for rel, text in scaffold_files().items():
            target = dbt_dir / rel
            if not target.exists():
                atomic_write_text(target, text)
    require_confined_profile(project.root, dbt_dir, project.settings.dbt_project_dir)
    if not check_only and _SYNCED.get(dbt_dir) is project:
        return report
    wanted = {**emit_dbt_files(project), **emit_semantic_files(project)}
    for rel, text in sorted(wanted.items()):
        target = dbt_dir / rel
        display = f"{project.settings.dbt_project_dir}/{rel}"
        if target.exists() and target.read_text(encoding="utf-8") == text:
            report.unchanged.append(display)
            continue
        report.written.append(display)
        if not check_only:
            atomic_write_text(target, text)
    if not check_only:
        # DuckDB's COPY does not create folders; dbt (standalone too) needs them to exist.
        for group in project.plan.groups():
            (project.warehouse_dir / group).mkdir(parents=True, exist_ok=True)
    generated_root = dbt_dir / GENERATED_DIR
    if generated_root.exists():
        for path in sorted(generated_root.rglob("*")):
            rel = path.relative_to(dbt_dir).as_posix()
            if path.is_file() and rel not in wanted:
                report.removed.append(f"{project.settings.dbt_project_dir}/{rel}")
                if not check_only:
                    path.unlink()
    if not check_only:
        _SYNCED[dbt_dir] = project
    return report
