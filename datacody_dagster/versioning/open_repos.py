"""The open DVC ``Repo`` objects of this process, one per project.

Opening one costs ~30 ms (DVC's hash-state database), a third of a small recording, so
recordings reuse it; setting up a repo (`dvcrepo.ensure_dvc_repo`) closes them after it changes
DVC's config. Keyed by pid so that a forked child opens its own.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dvc.repo import Repo

_REPOS: dict[tuple[int, Path], Repo] = {}
REPOS_GUARD = threading.Lock()
"""Held while a recording uses its Repo, so that `forget_open_repos` never closes one in use."""


def repo_for(root: Path) -> Repo:
    """This process's open Repo of ``root`` (opened on first use)."""
    from dvc.repo import Repo

    key = (os.getpid(), root)
    repo = _REPOS.get(key)
    if repo is None:
        repo = _REPOS[key] = Repo(str(root))
    return repo


def forget_open_repos() -> None:
    """Close cached Repo objects (after DVC's config changed, and in tests)."""
    with REPOS_GUARD:
        for (pid, _), repo in list(_REPOS.items()):
            if pid == os.getpid():
                repo.close()
        _REPOS.clear()
