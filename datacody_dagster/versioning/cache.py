"""DVC's content-addressed cache: find a version's bytes by md5, fetch them, restore them.

Layout (DVC 3): ``.dvc/cache/files/md5/<2 hex>/<30 hex>``; a folder version ``<md5>.dir`` is a
JSON list of ``{"md5", "relpath"}`` whose entries are ordinary file objects.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.recovery import backup_path_for, temp_path_for


@dataclass(frozen=True)
class CachedFile:
    relpath: str  # inside the output ("" for a single-file output)
    object_path: Path


def object_path(root: Path, md5: str) -> Path:
    return root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def missing_objects(root: Path, md5: str) -> list[str]:
    """Object ids of this version that are not in the local cache (the .dir object first)."""
    top = object_path(root, md5)
    if not top.is_file():
        return [md5]
    if not md5.endswith(".dir"):
        return []
    return [e["md5"] for e in _dir_entries(top) if not object_path(root, e["md5"]).is_file()]


def _dir_entries(path: Path) -> list[dict[str, str]]:
    return sorted(json.loads(path.read_text(encoding="utf-8")), key=lambda e: e["relpath"])


def version_files(root: Path, md5: str) -> list[CachedFile]:
    """The cached files of a version; raises DatacodyError when some are not in the cache."""
    missing = missing_objects(root, md5)
    if missing:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"version {md5} is not in the local DVC cache ({len(missing)} object(s) missing)",
                hint="fetch it with `datacody versions pull --all-versions` (needs dvc.remote)",
            )
        )
    if not md5.endswith(".dir"):
        return [CachedFile("", object_path(root, md5))]
    entries = _dir_entries(object_path(root, md5))
    return [CachedFile(e["relpath"], object_path(root, e["md5"])) for e in entries]


def restore(root: Path, md5: str, output: Path) -> None:
    """Put version ``md5`` at ``output`` atomically (a file by rename; a folder by two renames,
    which recovery completes if a kill falls between them)."""
    files = version_files(root, md5)
    if not md5.endswith(".dir"):
        tmp = temp_path_for(output)
        try:
            shutil.copyfile(files[0].object_path, tmp)
            os.replace(tmp, output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return
    tmp = temp_path_for(output)
    tmp.unlink(missing_ok=True)  # a fresh name; nothing is there unless a writer reused it
    try:
        for f in files:
            dest = tmp / f.relpath
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.object_path, dest)
        if output.is_dir() and not output.is_symlink():
            backup = backup_path_for(output)
            os.replace(output, backup)
            os.replace(tmp, output)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            if output.exists():
                output.unlink()
            os.replace(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
