"""Clean up after processes killed mid-write or mid-recording, so the next run just works.

What a kill can leave behind, and what happens to it here:
- temp files beside outputs, named by :mod:`datacody_dagster.temp_names` (atomic writes, staged
  candidates, folder swaps): removed once their writer is gone; a folder swap interrupted
  between its two renames is undone first (the ``old`` folder goes back to ``<name>``); dbt's
  fixed-name candidates are removed when no live process holds the DuckDB writer slot;
- DVC's partial cache copies (``.dvc/cache/**/.<token>.tmp``): removed under the repo lock;
- a ``.dvc`` file truncated while DVC rewrote it: removed (its output is intact and the next
  recording writes it again); a corrupt ``.dvc/tmp/rwlock``: removed.
DVC's repository lock is an flock, which the kernel releases when its holder dies: it never
stays stale (``core.hardlink_lock`` would, which is why it is not used).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from datacody_dagster.engines.atomic import remove as _remove
from datacody_dagster.temp_names import TempName, parse, temp_name
from datacody_dagster.versioning.locking import repo_locked

# Temp files without a pid are only removed once this old: their writer cannot be identified.
STALE_AFTER_S = 600.0

_MD5 = re.compile(r"^[0-9a-f]{32}(\.dir)?$")


def temp_path_for(output: Path) -> Path:
    """A fresh temp path beside ``output`` whose name tells :func:`recover` who wrote it.

    Write the output there, then ``os.replace`` it onto ``output``.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    return temp_name(output)


def backup_path_for(output: Path) -> Path:
    """Where a folder output is parked while a new folder is renamed into its place."""
    return temp_name(output, "old")


def _writer_gone(path: Path, pid: int | None) -> bool:
    if pid is not None:
        return pid != os.getpid() and not psutil.pid_exists(pid)
    try:
        return time.time() - path.lstat().st_mtime > STALE_AFTER_S
    except FileNotFoundError:
        return False


def _output_folders(root: Path) -> list[Path]:
    from datacody_dagster.config import load_settings

    warehouse = root / load_settings(root).warehouse_dir
    if not warehouse.is_dir():
        return []
    folders = [warehouse]
    for dirpath, dirnames, _ in os.walk(warehouse):
        # Outputs are <warehouse>/<group>/<asset>; partition folders below are data, not outputs.
        if Path(dirpath) == warehouse:
            folders.extend(Path(dirpath) / d for d in dirnames if not d.startswith("."))
        else:
            dirnames.clear()
    return folders


def clean_temp_outputs(
    root: Path, dbt_stages: bool = False, folders: Sequence[Path] | None = None
) -> list[Path]:
    """Remove temp files of dead writers beside outputs; return what was removed or restored.

    ``dbt_stages``: also remove dbt's fixed-name candidates (pass True only when no live
    process holds the DuckDB writer slot, e.g. from inside the dbt step before dbt runs).
    ``folders``: the output folders to clean (default: prod's warehouse and its groups).
    """
    touched: list[Path] = []
    for folder in _output_folders(root) if folders is None else folders:
        try:
            entries = list(folder.iterdir())
        except FileNotFoundError:
            continue
        matches: list[tuple[Path, TempName]] = [(p, t) for p in entries if (t := parse(p.name))]
        # Undo half-done folder swaps before deleting anything.
        for path, t in matches:
            target = folder / t.target
            if t.kind == "old" and not target.exists() and _writer_gone(path, t.pid):
                os.replace(path, target)
                touched.append(target)
        for path, t in matches:
            gone = dbt_stages if t.is_dbt_stage else _writer_gone(path, t.pid)
            if path.exists() and gone:
                _remove(path)
                touched.append(path)
    return touched


def _dvc_file_ok(path: Path) -> bool:
    import yaml

    # Every tracked output, every run: libyaml without type resolution (strings only) reads a
    # .dvc file in ~0.03 ms, ruamel's safe loader in ~0.7 ms.
    try:
        data = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader)
        )
        outs = data["outs"]
        return all(_MD5.match(str(o["md5"])) and isinstance(o["path"], str) for o in outs) and bool(outs)
    except Exception:
        return False


def repair_locked(root: Path) -> list[Path]:
    """Repairs that need DVC's repo lock held by the caller (no DVC writer is mid-way)."""
    removed: list[Path] = []
    for folder in _output_folders(root):
        for path in folder.glob("*.dvc"):
            if path.is_file() and not _dvc_file_ok(path):
                path.unlink()
                removed.append(path)
    cache = root / ".dvc" / "cache"
    if cache.is_dir():
        for dirpath, _, filenames in os.walk(cache):
            for name in filenames:
                if name.startswith(".") and name.endswith(".tmp"):
                    (Path(dirpath) / name).unlink(missing_ok=True)
                    removed.append(Path(dirpath) / name)
    rwlock = root / ".dvc" / "tmp" / "rwlock"
    if rwlock.exists():
        try:
            json.loads(rwlock.read_text(encoding="utf-8") or "{}")
        except ValueError:
            rwlock.unlink(missing_ok=True)
            removed.append(rwlock)
    return removed


def recover(root: Path, lock_timeout_s: float = 5.0) -> list[Path]:
    """Undo what killed processes left behind; safe to call while other runs are active.

    Returns the paths removed or restored. The part that needs DVC's repo lock is skipped when
    the lock stays busy for ``lock_timeout_s`` (a live process holds it; a later call repairs).
    """
    from datacody_dagster.errors import DatacodyError
    from datacody_dagster.versioning.open_repos import REPOS_GUARD, repo_for

    root = Path(os.path.abspath(root))
    touched = clean_temp_outputs(root)
    if not (root / ".dvc" / "config").is_file():
        return touched
    try:
        # The Repo the run's recordings use next (opening one costs ~0.4 s of CPU here).
        with REPOS_GUARD, repo_locked(repo_for(root), root, lock_timeout_s, "recovering"):
            touched += repair_locked(root)
    except DatacodyError:
        pass
    return touched
