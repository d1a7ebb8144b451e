"""Bounded waiting for locks: DVC's repository lock and a directory lock for first-time setup.

DVC either gives up after ~3 s or waits forever (``_wait_for_lock``); a materialization needs
something in between: wait, with a bound, then fail with a message that says what to do.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

if TYPE_CHECKING:
    from dvc.repo import Repo

_FIRST_DELAY_S = 0.005
_MAX_DELAY_S = 0.1


def lock_timeout_error(root: Path, timeout_s: float, what: str) -> DatacodyError:
    return DatacodyError(
        Diagnostic(
            RUNTIME,
            f"gave up waiting {timeout_s:g} s for the DVC repository lock while {what}",
            hint=(
                f"another process is using DVC in {root} (a long `dvc push`, `dvc gc`, or a large "
                "recording); let it finish, or raise dvc.lock_timeout_s in resources/<env>.yaml"
            ),
        )
    )


def _backoff(attempt: int) -> float:
    # Jitter so that several waiting steps do not retry in lock-step.
    return min(_MAX_DELAY_S, _FIRST_DELAY_S * (1.6**attempt)) * random.uniform(0.5, 1.5)


def retry_until(deadline: float, attempt: int) -> bool:
    """Sleep before the next attempt; False when the deadline has passed."""
    if time.monotonic() >= deadline:
        return False
    time.sleep(min(_backoff(attempt), max(0.0, deadline - time.monotonic())))
    return True


@contextmanager
def repo_locked(
    repo: Repo, root: Path, timeout_s: float, what: str, deadline: float | None = None
) -> Iterator[None]:
    """Hold DVC's repository lock for the block, waiting up to ``timeout_s`` for it
    (or until the monotonic ``deadline`` of a wait that began earlier).

    DVC's own ``@locked`` operations called inside the block see the lock as held
    (``_lock_depth``) and do not try to take it again.
    """
    from dvc.lock import LockError

    if deadline is None:
        deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        try:
            # One non-blocking attempt; DVC's public lock() sleeps 0.5 s between tries.
            repo.lock._do_lock()  # type: ignore[attr-defined]
            break
        except LockError:
            if not retry_until(deadline, attempt):
                raise lock_timeout_error(root, timeout_s, what) from None
            attempt += 1
    repo._lock_depth += 1
    try:
        repo._reset()
        yield
    finally:
        repo._lock_depth -= 1
        repo._reset()
        repo.lock.unlock()


@contextmanager
def directory_locked(path: Path, timeout_s: float, what: str) -> Iterator[None]:
    """An exclusive flock on a directory (no lock file needed; released when a process dies)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout_s
        attempt = 0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not retry_until(deadline, attempt):
                    raise lock_timeout_error(path, timeout_s, what) from None
                attempt += 1
        yield
    finally:
        os.close(fd)
