"""Sync versions with the configured DVC remote: push every cached version, fetch by hash."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from datacody_dagster.config import DvcSettings
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.cache import missing_objects
from datacody_dagster.versioning.dvcrepo import REMOTE_NAME, ensure_dvc_repo
from datacody_dagster.versioning.locking import repo_locked

_OBJECT_NAME = re.compile(r"^[0-9a-f]{30}(\.dir)?$")


Announce = Callable[[int], None]
"""Hears how many objects (push/fetch) or outputs (pull) are about to move: DVC has no per-file hook."""


def _silent(_count: int) -> None:
    pass


@dataclass(frozen=True)
class SyncResult:
    transferred: int
    failed: int


def _require_remote(settings: DvcSettings) -> None:
    if not settings.remote:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                "no DVC remote is configured",
                hint="set dvc.remote in resources/<env>.yaml (a folder in dev, e.g. ../dvc-remote)",
            )
        )


def cached_objects(root: Path) -> list[str]:
    """Every object id in the local cache: all recorded versions (nothing is ever gc'ed)."""
    base = root / ".dvc" / "cache" / "files" / "md5"
    if not base.is_dir():
        return []
    return sorted(
        prefix.name + entry.name
        for prefix in base.iterdir()
        if prefix.is_dir() and len(prefix.name) == 2
        for entry in prefix.iterdir()
        if _OBJECT_NAME.match(entry.name)
    )


def _transfer(
    root: Path, settings: DvcSettings, md5s: Iterable[str], push: bool, announce: Announce = _silent
) -> SyncResult:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    objs = {HashInfo("md5", m) for m in md5s}
    if not objs:
        return SyncResult(0, 0)
    what = "pushing versions" if push else "fetching versions"
    with Repo(os.fspath(root)) as repo, repo_locked(repo, root, settings.lock_timeout_s, what):
        announce(len(objs))
        try:
            move = repo.cloud.push if push else repo.cloud.pull
            result = move(objs, remote=REMOTE_NAME)
        except DvcException as exc:
            raise DatacodyError(
                Diagnostic(RUNTIME, f"{what} failed: {exc}", hint="check dvc.remote and that it is reachable")
            ) from None
    return SyncResult(len(result.transferred), len(result.failed))


def push_versions(root: Path, settings: DvcSettings, announce: Announce = _silent) -> SyncResult:
    """Push every version in the local cache (not only the current ones) to the remote."""
    _require_remote(settings)
    ensure_dvc_repo(root, settings)
    return _transfer(root, settings, cached_objects(root), push=True, announce=announce)


def fetch_versions(
    root: Path, settings: DvcSettings, md5s: Iterable[str], announce: Announce = _silent
) -> SyncResult:
    """Fetch the given versions (file or ``.dir`` hashes) from the remote into the local cache."""
    _require_remote(settings)
    ensure_dvc_repo(root, settings)
    wanted = [m for m in dict.fromkeys(md5s) if missing_objects(root, m)]
    result = _transfer(root, settings, wanted, push=False, announce=announce)
    still = [m for m in wanted if missing_objects(root, m)]
    if still:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"{len(still)} version(s) are neither in the local cache nor on the remote: "
                + ", ".join(still[:5]),
                hint="they were recorded on another machine and never pushed (`datacody versions push`)",
            )
        )
    return result


def pull_current(root: Path, settings: DvcSettings, announce: Announce = _silent) -> SyncResult:
    """`dvc pull`: fetch the versions the ``.dvc`` files point at and check out missing outputs."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    _require_remote(settings)
    ensure_dvc_repo(root, settings)
    with Repo(os.fspath(root)) as repo, repo_locked(repo, root, settings.lock_timeout_s, "pulling"):
        try:
            announce(sum(1 for _ in repo.index.outs))
            stats = repo.pull(remote=REMOTE_NAME)
        except DvcException as exc:
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"dvc pull failed: {exc}",
                    hint="outputs changed since they were recorded are left alone; materialize or "
                    "`datacody checkout` them",
                )
            ) from None
    return SyncResult(int(stats.get("fetched", 0)), 0)
