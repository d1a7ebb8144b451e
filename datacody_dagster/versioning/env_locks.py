"""Locks on an environment's data: one writer per environment, and prod's writers kept apart.

An ``fcntl.flock`` on ``data/.datacody/envs/locks/NAME.lock``, released by the kernel when its
holder dies, so a killed command never leaves a stale lock behind. A build, an apply, a rollback
or a delete holds it exclusively; prod's ``materialize`` holds prod's shared, so materializations
run side by side as before while an ``apply`` or a ``rollback`` of prod waits for them to finish
(and they for it). A waiter waits a bounded time, saying once what it waits for, then fails
naming the holder. This lives below ``runtime`` (prod's materialize takes it) and ``envs``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.env_state import STATE_DIR

LOCKS_DIR = f"{STATE_DIR}/locks"
_POLL_S = 0.1


class EnvBusy(DatacodyError):
    """Another process holds the environment's lock."""


def lock_path(root: Path, env: str) -> Path:
    return root / LOCKS_DIR / f"{env}.lock"


def _readers(path: Path) -> Path:
    """Shared holders note their pid here, one file each (they hold the lock together)."""
    return path.with_suffix(".readers")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holders(path: Path) -> str:
    """Who holds the lock, as its holders noted it (``pid N``), else "another process"."""
    try:
        found = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    except OSError:
        found = []
    readers = _readers(path)
    if readers.is_dir():  # a killed reader's note stays behind: only live pids are named
        found += [f"pid {p.name}" for p in readers.iterdir() if p.name.isdigit() and _alive(int(p.name))]
    return ", ".join(sorted(set(found))) or "another process"


@contextlib.contextmanager
def env_lock(
    root: Path,
    env: str,
    doing: str,
    wait_s: float = 0.0,
    say: Callable[[str], None] | None = None,
    shared: bool = False,
) -> Iterator[None]:
    """Hold ``env``'s lock (exclusive, or ``shared`` with other shared holders). When another
    process holds it, wait up to ``wait_s`` seconds (``say`` is told once), then raise naming it."""
    path = lock_path(root, env)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with open(path, "a+", encoding="utf-8") as fh:
        deadline = time.monotonic() + max(wait_s, 0.0)
        told = False
        while True:
            try:
                fcntl.flock(fh, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holders(path)
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
                    raise EnvBusy(
                        Diagnostic(
                            RUNTIME,
                            f"environment `{env}` is in use by {holder}{waited} (a materialize, plan, "
                            "apply, rollback or delete holds its lock)",
                            hint=f"retry `{doing}` when it has finished"
                            + (" (or give it longer: --wait-timeout SECONDS)" if wait_s > 0 else ""),
                        )
                    ) from None
                if say is not None and not told:
                    say(f"waiting up to {wait_s:g} s for environment `{env}`, in use by {holder}")
                    told = True
                time.sleep(_POLL_S)
        note = _readers(path) / str(os.getpid())
        # A process may hold it shared twice (a run and its in-process step): the first one notes it.
        noted = shared and not note.exists()
        try:
            if noted:
                note.parent.mkdir(exist_ok=True)
                note.touch()
            elif not shared:
                fh.seek(0)
                fh.truncate()
                fh.write(f"pid {os.getpid()}")
                fh.flush()
            yield
        finally:
            if noted:
                note.unlink(missing_ok=True)
            elif not shared:
                fh.seek(0)
                fh.truncate()
                fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
