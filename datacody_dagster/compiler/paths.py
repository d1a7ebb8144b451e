"""Source paths confined to the project: relative, no ``..``, and resolving (symlinks
followed) inside the project root. Used by validation and again right before a load, since a
symlink can appear between the two.
"""

from __future__ import annotations

import glob as globlib
import re
from pathlib import Path, PurePosixPath

STDLIB_SCHEME = "stdlib://"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_GLOB_CHARS = "*?["
MAX_MATCHES = 100_000
MAX_PATH = 1024


def static_prefix(path: str) -> str:
    """The part of a glob before its first wildcard segment (``data/raw/*.csv`` -> ``data/raw``)."""
    parts = PurePosixPath(path).parts
    keep: list[str] = []
    for part in parts:
        if any(c in part for c in _GLOB_CHARS):
            break
        keep.append(part)
    return "/".join(keep)


def path_problem(path: str, allow_external: bool = False) -> str | None:
    """Why a source path is refused by its text alone, or None."""
    if not path.strip():
        return "the path is empty"
    if "\\" in path:
        return "use `/` as the path separator"
    if len(path) > MAX_PATH or any(len(part.encode()) > 255 for part in path.split("/")):
        return f"the path is too long (at most {MAX_PATH} characters, 255 bytes per name)"
    body = path[len(STDLIB_SCHEME) :] if path.startswith(STDLIB_SCHEME) else path
    if _SCHEME.match(body) and not allow_external:
        return "URLs are not read by default (data must be in the project)"
    if body.startswith(("/", "~")) and not allow_external:
        return "absolute paths leave the project; write the path relative to the project root"
    if ".." in PurePosixPath(body).parts and not allow_external:
        return "`..` leaves the project; write the path relative to the project root"
    return None


def escaping_match(root: Path, path: str) -> Path | None:
    """A file or folder the path reaches outside the project (a symlink), or None.

    ``stdlib://`` paths are checked against the standard library folder instead; a path the
    file system cannot even look up (too long, a loop of links) counts as escaping.
    """
    try:
        return _escaping_match(root, path)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop in Path.resolve
        return Path(path)


def _escaping_match(root: Path, path: str) -> Path | None:
    if path.startswith(STDLIB_SCHEME):
        import sysconfig

        base = Path(sysconfig.get_paths()["stdlib"]).resolve()
        pattern = path[len(STDLIB_SCHEME) :]
    else:
        base = Path(root).resolve()
        pattern = path
    prefix = base / static_prefix(pattern)
    if prefix.exists() and not prefix.resolve().is_relative_to(base):
        return prefix
    if not any(c in pattern for c in _GLOB_CHARS):
        target = base / pattern
        if target.exists() and not target.resolve().is_relative_to(base):
            return target
        return None
    for i, match in enumerate(globlib.iglob(str(base / pattern), recursive=True)):
        if i >= MAX_MATCHES:
            break
        if not Path(match).resolve().is_relative_to(base):
            return Path(match)
    return None
