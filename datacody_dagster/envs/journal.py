"""The apply journal: the one file that says how far a promotion got.

``preparing``: staged copies are being placed beside prod's outputs; prod is untouched, so
recovery removes them (all old). ``committing``: every staged copy is complete; recovery renames
the rest into place and finishes (all new). Written atomically, so it is always one or the other.
``discarding``: `datacody rollback --discard-journal` is undoing it (``envs/discard.py``); only
that command goes on with it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacody_dagster.versioning.apply_journal import JOURNAL as JOURNAL
from datacody_dagster.versioning.apply_journal import journal_path as journal_path
from datacody_dagster.versioning.apply_journal import unfinishable

CRASH_ENV = "DATACODY_APPLY_CRASH_AT"
"""Fault injection for tests: the apply process kills itself (SIGKILL) at this checkpoint."""


@dataclass(frozen=True)
class Move:
    asset: str
    staged: str
    dest: str
    """Both relative to the project root."""


@dataclass(frozen=True)
class Journal:
    plan_id: str
    env: str
    phase: str  # preparing | committing | discarding
    moves: tuple[Move, ...]
    prod_after: dict[str, Any] = field(default_factory=dict)
    """Prod's state once the promotion is complete (JSON of an EnvState)."""
    prod_before: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "env": self.env,
            "phase": self.phase,
            "moves": [m.__dict__ for m in self.moves],
            "prod_after": self.prod_after,
            "prod_before": self.prod_before,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Journal:
        return cls(
            plan_id=data["plan_id"],
            env=data["env"],
            phase=data["phase"],
            moves=tuple(Move(**m) for m in data["moves"]),
            prod_after=data.get("prod_after") or {},
            prod_before=data.get("prod_before") or {},
        )


def write_journal(root: Path, journal: Journal) -> None:
    path = journal_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(journal.to_json(), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def read_journal(root: Path) -> Journal | None:
    """The journal on disk, None without one; raises (naming the escape) when it is unreadable."""
    path = journal_path(root)
    if not path.exists():
        return None
    try:
        return Journal.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise unfinishable(root, f"the journal is unreadable ({type(exc).__name__}: {exc})") from None


def clear_journal(root: Path) -> None:
    journal_path(root).unlink(missing_ok=True)


def discard(root: Path, journal: Journal) -> None:
    """Undo a ``preparing`` journal: remove its staged copies (prod is untouched), then it."""
    import shutil

    for move in journal.moves:
        staged = root / move.staged
        if staged.is_dir() and not staged.is_symlink():
            shutil.rmtree(staged)
        else:
            staged.unlink(missing_ok=True)
    clear_journal(root)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint(name: str) -> None:
    """Tests set DATACODY_APPLY_CRASH_AT=<name> to kill -9 the apply at this point."""
    if os.environ.get(CRASH_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
