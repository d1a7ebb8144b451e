"""Finish or undo an apply that a crash interrupted (run at the start of env commands)."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.envs.journal import clear_journal, journal_path, read_journal


def recover_apply(project: CompiledProject) -> str | None:
    """``"rolled back"``, ``"rolled forward"`` or None when no apply was interrupted (or one is
    still running: it holds prod's lock, and its journal is not an interrupted one)."""
    from datacody_dagster.envs.lock import EnvBusy, env_lock
    from datacody_dagster.versioning.env_state import PROD

    if read_journal(project.root) is None:
        return None
    try:
        with env_lock(project.root, PROD, "datacody apply"):
            return _recover(project)
    except EnvBusy:
        return None


def _recover(project: CompiledProject) -> str | None:
    journal = read_journal(project.root)
    if journal is None:
        return None
    if journal.phase == "preparing":
        import shutil

        for move in journal.moves:
            staged = project.root / move.staged
            if staged.is_dir() and not staged.is_symlink():
                shutil.rmtree(staged)
            else:
                staged.unlink(missing_ok=True)
        clear_journal(project.root)
        return "rolled back"
    from datacody_dagster.envs.apply import finish

    finish(project, journal)
    return "rolled forward"


def recover_at(root: Path) -> str | None:
    """:func:`recover_apply` for commands that have not compiled the project (cheap when no
    apply was interrupted: one file check)."""
    if not journal_path(root).exists():
        return None
    from datacody_dagster.compiler import compile_project

    return recover_apply(compile_project(root))
