"""Event-log SQLite settings during a run: only databases under the instance folder, only WAL ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from datacody_dagster.runtime.sqlite_tuning import fast_event_log


def _wal_db(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("create table t (x int)")
    con.commit()
    con.close()
    return path


def _synchronous_and_write(path: Path) -> int:
    """Like Dagster's storages: a new engine per use, NullPool; returns the connection's setting."""
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.connect() as conn, conn.begin():
        conn.execute(text("insert into t values (1)"))
        level = int(conn.execute(text("PRAGMA synchronous")).scalar_one())
    engine.dispose()
    return level


def test_only_wal_databases_under_home_are_tuned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inside = _wal_db(home / "history" / "runs" / "index.db")
    outside = _wal_db(tmp_path / "elsewhere.db")
    with fast_event_log(home):
        assert _synchronous_and_write(inside) == 1  # NORMAL
        assert _synchronous_and_write(outside) == 2  # FULL, the default: not ours
        # the held connection keeps the WAL file between Dagster's connections (no checkpoint)
        assert inside.with_name("index.db-wal").exists()
    assert _synchronous_and_write(inside) == 2  # the hook is gone after the run
    # nothing lost, nothing corrupt
    con = sqlite3.connect(inside)
    assert con.execute("select count(*) from t").fetchone() == (2,)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc to list open files")
def test_without_holding_no_connection_stays_open(tmp_path: Path) -> None:
    """A UI run's worker forks its steps: it tunes its connections but keeps none open (a forked
    step must never inherit an open SQLite connection)."""
    import os

    home = tmp_path / "home"
    inside = _wal_db(home / "history" / "runs" / "index.db")

    def open_files() -> set[str]:
        fds = Path(f"/proc/{os.getpid()}/fd")
        return {os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink()} if fds.exists() else set()

    with fast_event_log(home, hold=False):
        assert _synchronous_and_write(inside) == 1  # NORMAL
        assert str(inside) not in open_files()  # nothing held between two uses
        # the last connection's close checkpointed the WAL, as without the hook
        assert not inside.with_name("index.db-wal").exists()
    with fast_event_log(home):
        _synchronous_and_write(inside)
        assert str(inside) in open_files()  # the default holds one


def test_a_commit_touches_the_database_file_for_dagsters_watchers(tmp_path: Path) -> None:
    """With a step holding the run's shard open, a commit only grows the -wal file: the UI's live
    run view waits for the .db file to change, so each commit touches it."""
    import os

    home = tmp_path / "home"
    shard = _wal_db(home / "history" / "runs" / "r1.db")
    step = sqlite3.connect(shard)  # another process's connection, held (no checkpoint at close)
    step.execute("select count(*) from t").fetchall()
    os.utime(shard, (1_000_000, 1_000_000))
    with fast_event_log(home, hold=False):
        _synchronous_and_write(shard)
    assert shard.stat().st_mtime > 1_000_000
    step.close()
