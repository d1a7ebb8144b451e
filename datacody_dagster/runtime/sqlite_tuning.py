"""Cheaper SQLite writes for the instance's event log during one in-process run.

Dagster's SQLite storages open a new engine and connection for every event (``NullPool``), so
each event pays a commit with an fsync and a close that, as the last connection of a WAL
database, checkpoints it (another fsync). Measured on the jaffle-sized project: about 280 commits
and 350 closes, 8 s of a 12 s run spent waiting on the disk.

Within :func:`fast_event_log`, connections to databases under the instance folder use
``synchronous=NORMAL`` (WAL stays consistent after a crash and even a power loss; only the last
transactions before a power loss can be lost, never on a process crash), and one connection per
database file is held open for the run so that closing Dagster's connections is not a checkpoint.
One checkpoint happens at the end, when the held connections close.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _database_path(dbapi_connection: Any) -> Path | None:
    try:
        rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
    except sqlite3.Error:
        return None
    for _seq, name, file in rows:
        if name == "main" and file:
            return Path(file)
    return None


def _is_wal(dbapi_connection: sqlite3.Connection) -> bool:
    try:
        row = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    except sqlite3.Error:
        return False
    return bool(row and str(row[0]).lower() == "wal")


_LISTENING: list[tuple[int, Any, str, Any]] = []  # (pid, target, event, listener) of open blocks


def forget_inherited_tuning() -> None:
    """In a forked process: remove the listeners its parent's :func:`fast_event_log` left (the
    parent's block is never left here: each connect would be tuned twice)."""
    from sqlalchemy import event

    for entry in list(_LISTENING):
        pid, target, name, listener = entry
        if pid != os.getpid():
            with contextlib.suppress(Exception):
                event.remove(target, name, listener)
            _LISTENING.remove(entry)


@contextlib.contextmanager
def fast_event_log(home: Path, hold: bool = True) -> Iterator[None]:
    """Apply the settings above to every SQLite connection opened under ``home`` meanwhile.

    ``hold=False``: ``synchronous=NORMAL`` only, no connection held open (a process that forks,
    such as a UI run's worker: a forked child must never inherit an open SQLite connection).
    Its commits then skip the fsync only while another process (a step) keeps the database
    open; with none, the last connection's close still checkpoints. A commit touches the
    database file, which is what Dagster's watchers (the UI's live run view) wait for: with a
    connection held elsewhere, a commit only grows the ``-wal`` file. (``synchronous=NORMAL`` in
    WAL mode: consistent after any crash; a power loss may lose the last commits of each file.)
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    home = home.resolve()
    held: dict[Path, sqlite3.Connection] = {}
    ours: dict[str, bool] = {}  # database path -> under home (resolved once)

    def on_commit(conn: Any) -> None:
        database = conn.engine.url.database
        if not database or not database.endswith(".db"):
            return
        inside = ours.get(database)
        if inside is None:
            inside = ours[database] = Path(database).resolve().is_relative_to(home)
        if inside:
            with contextlib.suppress(OSError):
                os.utime(database)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        path = _database_path(dbapi_connection)
        if path is None or not path.resolve().is_relative_to(home) or not _is_wal(dbapi_connection):
            return  # a database being created is not WAL yet: holding it would keep it from switching
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        if hold and path not in held:
            with contextlib.suppress(sqlite3.Error):
                held[path] = sqlite3.connect(path, timeout=30, check_same_thread=False)
                held[path].execute("select count(*) from sqlite_master").fetchall()  # opens the file

    mine: list[tuple[int, Any, str, Any]] = [
        (os.getpid(), Pool, "connect", on_connect),
        (os.getpid(), Engine, "commit", on_commit),
    ]
    for _, target, name, listener in mine:
        event.listen(target, name, listener)
    _LISTENING.extend(mine)
    try:
        yield
    finally:
        for entry in mine:
            event.remove(entry[1], entry[2], entry[3])
            with contextlib.suppress(ValueError):
                _LISTENING.remove(entry)
        for keeper in held.values():
            with contextlib.suppress(sqlite3.Error):
                keeper.close()
