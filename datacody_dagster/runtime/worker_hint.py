"""Whether `datacody materialize` starts its dbt worker before it knows a run has work to do.

Started first thing, the worker imports dbt (~1.2 CPU-s) beside the CLI's own start; a rerun
that then finds nothing to rebuild kills it, having paid for it (measured on a busy 2-core
machine: +0.25 s wall and +0.3 CPU-s on a 0.5 s no-op). So the CLI starts it first thing unless
the files a run reads (spec and settings files, raw inputs, Python modules, and their folders)
are exactly as they were after the last run that left the whole project materialized: such a
rerun most likely has nothing to do, and the worker is started only if the up-to-date check
says otherwise. A hint only: what is rebuilt is decided by that check, as always.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # read before the CLI imports the compiler (the worker's head start)
    from datacody_dagster.compiler import CompiledProject

HINT = "data/.datacody/settled-inputs.json"


def _stats(root: Path, files: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for rel in files:
        try:
            st = os.stat(root / rel)
        except OSError:
            continue
        out[rel] = [st.st_size, st.st_mtime_ns]
    return out


def _project_files(root: Path) -> list[str]:
    """The spec and settings files, and their folders (a new file moves a folder's mtime)."""
    found: set[str] = set()
    for top in ("asset_specs", "resources"):
        base = root / top
        if base.is_dir():
            found.add(top)
            for dirpath, _, filenames in os.walk(base):
                found.add(os.path.relpath(dirpath, root))
                found.update(os.path.relpath(os.path.join(dirpath, f), root) for f in filenames)
    return sorted(found)


def likely_nothing_to_do(root: Path) -> bool:
    """True when the files of the last fully materialized run are unchanged (see the module doc)."""
    try:
        hint = json.loads((root / HINT).read_text(encoding="utf-8"))
        recorded = hint["files"]
        inputs = [str(f) for f in hint["inputs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(recorded) and recorded == _stats(root, sorted({*_project_files(root), *inputs}))


def remember_settled(project: CompiledProject) -> None:
    """Record the files a run reads, after a run that left the whole project materialized."""
    from datacody_dagster.emit.files import atomic_write_text
    from datacody_dagster.runtime.input_files import input_files

    root = project.root
    inputs: set[str] = set()
    for node in project.plan.nodes:
        for path in input_files(project, node):
            inputs.add(os.path.relpath(path, root))
            inputs.add(os.path.relpath(path.parent, root))
    files = sorted({*_project_files(root), *inputs})
    text = json.dumps({"files": _stats(root, files), "inputs": sorted(inputs)}, sort_keys=True)
    path = root / HINT
    with contextlib.suppress(OSError):
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)


def forget_settled(root: Path) -> None:
    """A run that failed or built part of the project: the next one starts its worker early."""
    with contextlib.suppress(OSError):
        (root / HINT).unlink(missing_ok=True)
