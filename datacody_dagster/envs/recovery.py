"""Finish or undo an apply that a crash interrupted (run at the start of prod's commands)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.envs.journal import journal_path, read_journal

WAIT_S = 600.0
"""How long recovery waits for prod's lock by default (prod's runs hold it shared)."""


def recover_apply(
    project: CompiledProject,
    wait_s: float = WAIT_S,
    say: Callable[[str], None] | None = None,
    doing: str = "datacody apply",
) -> str | None:
    """``"rolled back"``, ``"rolled forward"`` or None when no apply was interrupted.

    With a journal on disk, waits up to ``wait_s`` for prod's lock exclusively: a busy lock
    may be an apply still running, but as often prod's runs (they hold it shared), and the
    interrupted apply must be finished before prod is written again. Raises ``EnvBusy``
    (naming the holder, saying ``doing``) when the wait runs out."""
    from datacody_dagster.envs.apply import recover_holding_lock
    from datacody_dagster.envs.lock import env_lock
    from datacody_dagster.versioning.env_state import PROD

    if read_journal(project.root) is None:
        return None
    with env_lock(project.root, PROD, doing, wait_s, say):
        return recover_holding_lock(project)


def recover_at(
    root: Path,
    wait_s: float = WAIT_S,
    say: Callable[[str], None] | None = None,
    doing: str = "datacody apply",
) -> str | None:
    """:func:`recover_apply` for commands that have not compiled the project (cheap when no
    apply was interrupted: one file check)."""
    if not journal_path(root).exists():
        return None
    from datacody_dagster.compiler import compile_project

    return recover_apply(compile_project(root), wait_s, say, doing)
