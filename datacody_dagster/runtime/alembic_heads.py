"""Dagster's alembic head revisions, read once per process instead of once per database opened.

Each SQLite storage object of Dagster checks, when it first connects to a database, the
database's revision against the head of the package's migration scripts
(``dagster._core.storage.sql.check_alembic_revision``): alembic's ``ScriptDirectory`` loads and
executes every migration script to find the head (~15 CPU-ms). A UI run's step processes each
build their own storages (``DagsterInstance.from_ref``) and open three to four databases:
measured, 32 of these reads in one "Materialize all" of the example, ~0.5 CPU-s. The scripts of
an installed package do not change while a process lives, so the directory is read once per
script folder; the run worker reads them before its steps fork, and each step inherits them.
The database's own revision is still read every time (it can change: ``dagster instance
migrate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # alembic (and SQLAlchemy) only where the heads are read
    from alembic.script import ScriptDirectory

_READ: dict[str, ScriptDirectory] = {}


class _ReadOnce:
    """Stands in for ``ScriptDirectory`` in ``dagster._core.storage.sql`` (its only use there is
    ``from_config`` in ``check_alembic_revision``)."""

    @staticmethod
    def from_config(config: Any) -> ScriptDirectory:
        from alembic.script import ScriptDirectory

        location = str(config.get_main_option("script_location"))
        script = _READ.get(location)
        if script is None:
            script = _READ[location] = ScriptDirectory.from_config(config)
        return script


def read_heads_once() -> None:
    """Install the cache for this process and read the heads of Dagster's SQLite storages now."""
    from dagster._core.storage import sql
    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from dagster._core.storage.runs.sqlite import sqlite_run_storage
    from dagster._core.storage.schedules.sqlite import sqlite_schedule_storage

    sql.ScriptDirectory = _ReadOnce  # type: ignore[assignment,misc]
    for module in (sqlite_event_log, sqlite_run_storage, sqlite_schedule_storage):
        _ReadOnce.from_config(sql.get_alembic_config(module.__file__)).as_revision_number("head")
