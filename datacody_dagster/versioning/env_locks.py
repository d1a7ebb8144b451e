"""Locks on an environment's data: one writer per environment, and prod's writers kept apart.

An ``fcntl.flock`` on ``data/.datacody/envs/locks/NAME.lock``, released by the kernel when its
holder dies, so a killed command never leaves a stale lock behind. A build, an apply, a rollback
or a delete holds it exclusively; prod's ``materialize`` holds prod's shared, so materializations
run side by side as before while an ``apply`` or a ``rollback`` of prod waits for them to finish
(and they for it). A waiter waits a bounded time, saying once what it waits for, then fails
naming the holder. This lives below ``runtime`` (prod's materialize takes it) and ``envs``.

The lock prefers writers: a stream of overlapping shared holders would otherwise never leave the
exclusive waiter (an `apply`) a moment free. A turnstile file beside the lock (``NAME.turnstile``)
queues them: an exclusive waiter holds it while it waits for the lock, and a new shared holder
passes through it (takes and drops it) before taking the lock, so it waits behind a queued writer.
A process that already holds the lock shared, or whose parent does (the run's steps in child
processes; not further descendants), skips the turnstile: waiting there would wait for the writer
that waits for it. A shared newcomer that may hold what the holders wait for (a UI run's step:
Dagster claimed its DuckDB pool slot before the step asks for the lock, and a holding CLI
materialize may wait for that slot) waits there at most ``TURNSTILE_S``, then takes the lock beside
the holders: a wait at the turnstile would then last until a timeout (holder -> pool -> newcomer
-> turnstile -> writer -> holder).

A newcomer that holds nothing (``holds_nothing``: `datacody materialize`, which takes prod's lock
before it waits for the pool, opens DuckDB or starts its run) queues behind the writer for as long
as it waits at all: no one waits for it, so its wait closes no cycle, and the writer keeps its
preference over the CLI's overlapping runs however long the runs ahead of it last.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.env_state import STATE_DIR

LOCKS_DIR = f"{STATE_DIR}/locks"
_POLL_S = 0.1
TURNSTILE_S = 3.0
"""How long a shared newcomer waits behind a queued writer before taking the lock beside the
holders anyway: writer preference is best effort, never a deadlock."""
SHARED_HELD_ENV = "DATACODY_SHARED_LOCKS"
"""Lock files held shared, as ``PID@PATH`` entries, ``os.pathsep``-separated: inherited by child
processes, so they pass a queued writer as their parent does. An entry counts only in the process
that named it and its children: a process a Python-API user starts while holding the lock (say
`dagster dev`) passes it on to its own children, which must queue like anyone else."""
_held_lock = threading.Lock()
_held: dict[str, tuple[int, bool]] = {}
"""Per lock file held shared in this process: (holds, whether this process named it)."""


class EnvBusy(DatacodyError):
    """Another process holds the environment's lock."""


def lock_path(root: Path, env: str) -> Path:
    return root / LOCKS_DIR / f"{env}.lock"


def _turnstile(path: Path) -> Path:
    """Held by an exclusive waiter; shared holders pass through it (see the module)."""
    return path.with_suffix(".turnstile")


def _held_shared(path: Path) -> bool:
    """Whether this process or its parent named ``path`` as held shared."""
    key, mine = os.path.realpath(path), {str(os.getpid()), str(os.getppid())}
    for entry in os.environ.get(SHARED_HELD_ENV, "").split(os.pathsep):
        pid, _, held = entry.partition("@")
        if held == key and pid in mine:
            return True
    return False


def _note_held(path: Path, delta: int) -> None:
    """Count this process's shared holds of ``path``; name it in the environment meanwhile."""
    key = os.path.realpath(path)
    own = f"{os.getpid()}@{key}"
    with _held_lock:
        named = [p for p in os.environ.get(SHARED_HELD_ENV, "").split(os.pathsep) if p]
        holds, added = _held.get(key, (0, own not in named))
        holds += delta
        if holds > 0:
            _held[key] = (holds, added)
            if own not in named:
                os.environ[SHARED_HELD_ENV] = os.pathsep.join([*named, own])
            return
        _held.pop(key, None)
        if added:
            rest = [p for p in named if p != own]
            if rest:
                os.environ[SHARED_HELD_ENV] = os.pathsep.join(rest)
            else:
                os.environ.pop(SHARED_HELD_ENV, None)


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
    holds_nothing: bool = False,
) -> Iterator[None]:
    """Hold ``env``'s lock (exclusive, or ``shared`` with other shared holders). When another
    process holds it, wait up to ``wait_s`` seconds (``say`` is told once), then raise naming it.
    ``holds_nothing``: the caller holds no lock or pool slot that a holder of this lock may wait
    for, so as a shared newcomer it waits behind a queued writer for all of ``wait_s``, not only
    ``TURNSTILE_S`` (see the module)."""
    path = lock_path(root, env)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    waiting = _Waiting(env, doing, wait_s, say)
    with open(path, "a+", encoding="utf-8") as fh:
        if shared and _held_shared(path):
            waiting.take(fh, mode, lambda: _holders(path))
        else:
            with open(_turnstile(path), "a+", encoding="utf-8") as gate:
                # Queued: shared newcomers wait behind this writer, not beside it, but only for
                # TURNSTILE_S unless they hold nothing: one may hold what the holders wait for.
                bound_s = TURNSTILE_S if shared and not holds_nothing else None
                passed = waiting.take(gate, mode, lambda: _queued(path), bound_s)
                if not shared:
                    _write_pid(gate)
                try:
                    if shared and passed:
                        fcntl.flock(gate, fcntl.LOCK_UN)
                    waiting.take(fh, mode, lambda: _holders(path))
                finally:
                    if not shared:
                        gate.seek(0)
                        gate.truncate()
                        gate.flush()
        note = _readers(path) / str(os.getpid())
        # A process may hold it shared twice (a run and its in-process step): the first one notes it.
        noted = shared and not note.exists()
        if shared:
            _note_held(path, +1)
        try:
            if noted:
                note.parent.mkdir(exist_ok=True)
                note.touch()
            elif not shared:
                _write_pid(fh)
            yield
        finally:
            if shared:
                _note_held(path, -1)
            if noted:
                note.unlink(missing_ok=True)
            elif not shared:
                fh.seek(0)
                fh.truncate()
                fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_pid(fh: IO[str]) -> None:
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}")
    fh.flush()


def _queued(path: Path) -> str:
    """Who holds the turnstile: a writer queued for the lock (it noted its pid there)."""
    try:
        pid = _turnstile(path).read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"{pid or 'another process'} (queued for it, waiting for {_holders(path)})"


class _Waiting:
    """Takes a flock within one deadline for a whole acquisition (turnstile, then lock), saying
    once that it waits and failing with who holds it."""

    def __init__(self, env: str, doing: str, wait_s: float, say: Callable[[str], None] | None) -> None:
        self.env, self.doing, self.wait_s, self.say = env, doing, wait_s, say
        self.deadline = time.monotonic() + max(wait_s, 0.0)
        self.told = False

    def take(
        self, fh: IO[str], mode: int, holder_of: Callable[[], str], bound_s: float | None = None
    ) -> bool:
        """Take the flock; False when ``bound_s`` passed first (it is not taken then)."""
        given_up = None if bound_s is None else time.monotonic() + bound_s
        while True:
            try:
                fcntl.flock(fh, mode | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if given_up is not None and time.monotonic() >= given_up:
                    return False
                holder = holder_of()
                if time.monotonic() >= self.deadline:
                    raise self._busy(holder) from None
                if self.say is not None and not self.told:
                    self.say(
                        f"waiting up to {self.wait_s:g} s for environment `{self.env}`, in use by {holder}"
                    )
                    self.told = True
                time.sleep(_POLL_S)

    def _busy(self, holder: str) -> EnvBusy:
        waited = f" after waiting {self.wait_s:g} s" if self.wait_s > 0 else ""
        return EnvBusy(
            Diagnostic(
                RUNTIME,
                f"environment `{self.env}` is in use by {holder}{waited} (a materialize, plan, "
                "apply, rollback or delete holds its lock)",
                hint=f"retry `{self.doing}` when it has finished"
                + (" (or give it longer: --wait-timeout SECONDS)" if self.wait_s > 0 else ""),
            )
        )
