"""Where an `apply` keeps its journal, and the guard prod's writers take before writing.

The journal (``envs/journal.py``) exists from an apply's first write to its last. A running
apply holds prod's lock exclusively, so a writer holding it shared that still sees a journal
sees one a crash left: prod is half-applied and must be finished (``envs/recovery.py``) first.
This lives below ``runtime``, whose prod writers take the guard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic, Location
from datacody_dagster.versioning.env_locks import env_lock
from datacody_dagster.versioning.env_state import PROD, STATE_DIR

JOURNAL = "apply.journal.json"
ESCAPE = "datacody rollback --discard-journal"
"""The way out of a journal whose apply cannot be finished (``envs/discard.py``)."""


def journal_path(root: Path) -> Path:
    """The apply journal of the project at ``root``."""
    return root / STATE_DIR / JOURNAL


def refuse_half_applied(root: Path) -> None:
    """Raise when an interrupted apply's journal is on disk (call holding prod's lock shared)."""
    path = journal_path(root)
    if path.exists():
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"an `apply` to prod was interrupted midway ({path.relative_to(root)}): "
                "prod must be finished before it is written again",
                hint="run `datacody materialize` (or `plan`, `apply`, `rollback`): it finishes "
                f"the interrupted apply first; if finishing it fails, `{ESCAPE}` discards it",
            )
        )


def unfinishable(root: Path, why: str) -> DatacodyError:
    """The error for a journal whose apply cannot be finished: it names the file and the escape."""
    return DatacodyError(
        Diagnostic(
            RUNTIME,
            f"an interrupted `apply` to prod cannot be finished: {why}; every prod writer refuses "
            "while this journal is on disk",
            Location(journal_path(root).relative_to(root).as_posix()),
            hint=f"`{ESCAPE}` discards it: it puts back from DVC what the apply already replaced, "
            "where it can, removes the journal, and says what prod holds",
        )
    )


@contextlib.contextmanager
def writing_prod(
    root: Path,
    doing: str,
    wait_s: float,
    say: Callable[[str], None] | None = None,
    shared: bool = False,
    holds_nothing: bool = False,
) -> Iterator[None]:
    """Hold prod's lock for a writer of prod (``shared`` for runs, exclusive for `apply`,
    `rollback`, `quarantine publish`, `checkout`), refusing a half-applied prod once held.
    ``holds_nothing``: as ``env_locks.env_lock``'s."""
    with env_lock(root, PROD, doing, wait_s=wait_s, say=say, shared=shared, holds_nothing=holds_nothing):
        refuse_half_applied(root)
        yield
