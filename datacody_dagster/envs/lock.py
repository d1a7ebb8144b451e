"""One writer per environment: a build, an apply or a delete holds the env's lock throughout.

A second `plan --env X` would delete the outputs and DuckDB file under a running build, and a
plan during `apply X` could delete the files apply is staging (its recovery takes a missing
staged file for one already renamed). The lock is an ``fcntl.flock`` on
``data/.datacody/envs/locks/NAME.lock``, released by the kernel when its holder dies, so a
killed command never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.env_state import STATE_DIR

LOCKS_DIR = f"{STATE_DIR}/locks"


class EnvBusy(DatacodyError):
    """Another process holds the environment's lock."""


def lock_path(root: Path, env: str) -> Path:
    return root / LOCKS_DIR / f"{env}.lock"


@contextlib.contextmanager
def env_lock(root: Path, env: str, doing: str) -> Iterator[None]:
    """Hold ``env``'s exclusive lock, or raise at once naming the process that holds it."""
    path = lock_path(root, env)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise EnvBusy(
                Diagnostic(
                    RUNTIME,
                    f"environment `{env}` is in use by {holder} (a plan, apply, rollback or "
                    "delete holds its lock)",
                    hint=f"retry `{doing}` when it has finished",
                )
            ) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
