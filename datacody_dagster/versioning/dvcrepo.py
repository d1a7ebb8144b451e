"""The project as a DVC repository: created on first use, configured from resources/<env>.yaml.

DVC runs without SCM (``core.no_scm``) even inside a git repository: outputs live under a
gitignored ``data/`` folder and DVC refuses to write ``.dvc`` files that git ignores. History
lives in the Dagster event log (hash per materialization) and in DVC's content-addressed cache,
so no git commit per run is needed.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from datacody_dagster.config import DvcSettings
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.locking import directory_locked
from datacody_dagster.versioning.open_repos import forget_open_repos

REMOTE_NAME = "datacody"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# cache.type=copy: with DVC's default link types a kill during the copy-back can delete the
# workspace file before the .dvc file is written. autostage off and no_scm: never touch git.
_REPO_CONFIG: dict[str, dict[str, str]] = {
    "core": {"no_scm": "True", "autostage": "False", "analytics": "False", "check_update": "False"},
    "cache": {"type": "copy"},
}


def dvc_dir(root: Path) -> Path:
    return root / ".dvc"


def is_dvc_repo(root: Path) -> bool:
    return (dvc_dir(root) / "config").is_file()


def resolve_remote_url(root: Path, remote: str) -> str:
    """An absolute remote URL: ``${VAR}`` expanded, local folders made absolute."""

    def expand(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1))
        if value is None:
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"dvc.remote refers to the environment variable {match.group(1)}, which is not set",
                    hint=f"export {match.group(1)}=<remote URL or folder>, or set dvc.remote to null",
                )
            )
        return value

    url = _ENV_REF.sub(expand, remote).strip()
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url):
        return url
    path = Path(url).expanduser()
    return str((path if path.is_absolute() else root / path).resolve())


def _local_config(root: Path, settings: DvcSettings) -> dict[str, dict[str, str]]:
    # site_cache_dir holds DVC's hash state and index; keep it inside the project instead of
    # /var/tmp so that removing the project removes all of it.
    conf: dict[str, dict[str, str]] = {"core": {"site_cache_dir": str(dvc_dir(root) / "tmp" / "site")}}
    if settings.remote:
        conf["core"]["remote"] = REMOTE_NAME
        conf[f'remote "{REMOTE_NAME}"'] = {"url": resolve_remote_url(root, settings.remote)}
    return conf


def _apply(path: Path, wanted: dict[str, dict[str, str]], drop_remote: bool) -> None:
    """Merge ``wanted`` into a configobj file; rewrite it atomically, only when it changes."""
    from configobj import ConfigObj

    conf = ConfigObj(str(path) if path.exists() else None, encoding="utf-8")
    before = conf.dict()
    for section, values in wanted.items():
        conf.setdefault(section, {})
        for key, value in values.items():
            conf[section][key] = value
    if drop_remote:
        conf.pop(f'remote "{REMOTE_NAME}"', None)
        if conf.get("core", {}).get("remote") == REMOTE_NAME:
            del conf["core"]["remote"]
    if conf.dict() == before and path.exists():
        return
    conf.filename = None
    lines = [ln.decode() if isinstance(ln, bytes) else ln for ln in conf.write()]
    text = "\n".join(lines) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}-cfg.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _configured(root: Path, settings: DvcSettings) -> bool:
    from configobj import ConfigObj

    if not is_dvc_repo(root):
        return False
    repo = ConfigObj(str(dvc_dir(root) / "config"), encoding="utf-8")
    local_path = dvc_dir(root) / "config.local"
    local = ConfigObj(str(local_path) if local_path.exists() else None, encoding="utf-8")
    wanted_local = _local_config(root, settings)
    for conf, wanted in ((repo, _REPO_CONFIG), (local, wanted_local)):
        for section, values in wanted.items():
            if any(conf.get(section, {}).get(k) != v for k, v in values.items()):
                return False
    return settings.remote is not None or f'remote "{REMOTE_NAME}"' not in local


def _init(root: Path) -> None:
    from dvc.repo import Repo

    if not dvc_dir(root).exists():
        # DVC announces "Initialized DVC repository." on stdout, which is ours (e.g. --json).
        init_log = logging.getLogger("dvc.repo.init")
        level = init_log.level
        init_log.setLevel(logging.WARNING)
        try:
            Repo.init(str(root), no_scm=True).close()
        finally:
            init_log.setLevel(level)
        return
    # A .dvc folder without config (an interrupted init): keep its cache, write the config.
    (root / ".dvcignore").touch(exist_ok=True)


def ensure_dvc_repo(root: Path, settings: DvcSettings) -> None:
    """Make ``root`` a configured DVC repository and clean up after crashed runs.

    Idempotent and safe when several processes call it at once (setup happens under an
    exclusive lock on the project folder). Sets ``cache.type=copy``, no autostage, no SCM,
    and the remote of ``settings`` (absolute, in ``.dvc/config.local``). Then runs
    :func:`~datacody_dagster.versioning.recovery.recover`.
    """
    from datacody_dagster.versioning.recovery import recover

    root = Path(os.path.abspath(root))
    if not root.is_dir():
        raise DatacodyError(Diagnostic(RUNTIME, f"project folder {root} does not exist"))
    if not _configured(root, settings):
        with directory_locked(root, settings.lock_timeout_s, "setting up DVC"):
            if not is_dvc_repo(root):
                _init(root)
            _apply(dvc_dir(root) / "config", _REPO_CONFIG, drop_remote=False)
            local = _local_config(root, settings)
            _apply(dvc_dir(root) / "config.local", local, drop_remote=not settings.remote)
        forget_open_repos()
    recover(root, lock_timeout_s=min(settings.lock_timeout_s, 5.0))
