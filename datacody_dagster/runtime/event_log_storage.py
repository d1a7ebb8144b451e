"""Dagster's SQLite event log with one open connection per database file instead of one per query.

Dagster's :class:`SqliteEventLogStorage` builds a new SQLAlchemy engine (``NullPool``) and a new
SQLite connection for every read and every write: a materialization of 100 trivial assets opened
about 1,400 connections, ~20 ms of CPU per event on these machines. Here each database file (the
index shard and the run shards) keeps one engine with one connection (``StaticPool``) for the
life of the process. Everything else is Dagster's own code.

What keeps it correct beside other processes (``dagster dev``, the daemon, another CLI run):

- SQLite's file locking is unchanged: a write still takes the write lock for its own
  transaction only, and a connection between two uses holds no lock and no read snapshot
  (pysqlite opens a transaction only for a write; SQLAlchemy rolls back when a connection goes
  back to the pool), so each read sees what other processes committed;
- a file deleted or replaced meanwhile (``dagster instance wipe``, another process) is noticed
  by its inode before each use, and the connection is reopened on the new file;
- Dagster's run watchers (``watch``, the UI's live run view) wait for the run shard's ``.db``
  file to change; in WAL mode a commit only touches ``-wal`` and, without a close per event, no
  checkpoint touches the ``.db`` file either: after a write to a run shard its mtime is set, which
  is the change they wait for (a read does not, or the watcher's own reads would wake it again);
- a WAL database's connection uses ``synchronous=NORMAL``, as ``runtime/sqlite_tuning.py``
  explains (consistent after any crash; a power loss may lose the last transactions only),
  since a pooled connection opened before a run would otherwise keep an fsync per event;
- ``has_table``, ``has_asset_key_col`` and ``has_secondary_index`` (schema and data-migration
  questions Dagster asks once or twice per stored or read asset event, each with its own query)
  remember only what they found: a table, column or completed migration is added, never
  dropped (``wipe`` keeps the migration marks); all is forgotten when the index file is replaced;
- a new run shard is a copy of an empty shard that Dagster's own ``_initdb`` made once per
  Dagster version (``.datacody-run-shard-<version>.sqlite`` beside the shards, a name that
  Dagster's ``*.db`` globs never see), instead of creating its tables and stamping its alembic
  revision in every run (~0.1 CPU-s, loading alembic's revision scripts each time); the copy
  is put in place with ``os.link``, so a shard that another process created first is kept and
  initialised the usual way; making a version's template removes other versions' (an upgrade's
  leftovers);
- a materialization's event is serialized once: the latest-materialization record Dagster
  writes to the index is built around the event row's text (``record_text``; a test checks it
  is byte for byte what ``serialize_value`` writes);
- a batch of events (Dagster hands the planned events of a new run over as one batch when
  ``DAGSTER_EVENT_BATCH_SIZE`` is set, as :func:`batched_event_writes` does around a CLI run)
  is stored by Dagster's own ``store_event``, one event after the other, inside one
  transaction per database file instead of two per event; a failure rolls all of them back
  and Dagster then stores them one by one;
- the latest-materialization record this process stored for an asset is not parsed back from
  the index: Dagster reads it again for each downstream asset of the same step (the input's
  data version and storage id). A row whose ``last_materialization`` text is exactly the text
  this process wrote for that key gets the record it was serialized from (``_store_asset_event``
  writes ``serialize_value(EventLogRecord(storage_id, event))``); anything else, e.g. a record
  written by another process since, is read by Dagster's own code.

Private Dagster API this relies on (dagster 1.13; pinned by tests/e2e/test_dagster_private_api.py):
``SqliteEventLogStorage._connect``, ``._initdb``, ``._initialized_dbs``, ``._db_lock``,
``SqlEventLogStorage._has_asset_key_col_on_connection``, ``._event_to_row``,
``._get_asset_entry_values`` (its materialization branch is repeated here),
``._get_latest_materialization_records`` and ``DagsterSqliteStorage._event_log_storage``.
``datacody_dagster.instance`` selects :class:`DatacodySqliteStorage` for an instance whose
dagster.yaml keeps Dagster's default SQLite storage (see ``pooled_storage_ref`` there).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dagster._core.assets import AssetDetails
from dagster._core.definitions.events import AssetKey
from dagster._core.event_api import EventLogRecord
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from dagster._time import datetime_from_timestamp
from dagster.version import __version__ as DAGSTER_VERSION
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

# Run shards kept open at once (a process mostly writes one run; readers may visit many).
MAX_OPEN_RUN_SHARDS = 8
# Dagster's switch for handing batches of events to ``store_event_batch`` (the run's planned events).
EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
# Latest-materialization records remembered as written (a run reads each one back once or twice).
MAX_WRITTEN_RECORDS = 512
# The empty-shard template's name, before ``<dagster version>.sqlite`` (Dagster's ``*.db`` globs skip it).
_TEMPLATE_PREFIX = ".datacody-run-shard-"

FileId = tuple[int, int]


def _file_id(path: str) -> FileId | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _tune(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    with contextlib.suppress(sqlite3.Error):
        row = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
        if row and str(row[0]).lower() == "wal":
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@contextlib.contextmanager
def batched_event_writes(size: int = 1000) -> Iterator[None]:
    """Let Dagster hand batches of events (a new run's planned events) to the event log storage
    (Dagster's ``DAGSTER_EVENT_BATCH_SIZE``; a value set by the user is kept)."""
    if os.environ.get(EVENT_BATCH_SIZE_ENV):
        yield
        return
    os.environ[EVENT_BATCH_SIZE_ENV] = str(size)
    try:
        yield
    finally:
        os.environ.pop(EVENT_BATCH_SIZE_ENV, None)


def record_text(event_text: str, storage_id: int) -> str:
    """``serialize_value(EventLogRecord(storage_id, event))`` from the event's serialized text
    (serdes writes a NamedTuple's fields in sorted order after ``__class__``)."""
    return (
        f'{{"__class__": "EventLogRecord", "event_log_entry": {event_text}, "storage_id": {int(storage_id)}}}'
    )


def _changes(conn: Connection) -> int:
    dbapi = conn.connection.dbapi_connection
    return dbapi.total_changes if isinstance(dbapi, sqlite3.Connection) else 0


class _PartlyCommitted(Exception):
    """A batch's commit failed after the files of ``committed`` had committed it."""

    def __init__(self, committed: frozenset[str]) -> None:
        super().__init__(f"committed in {sorted(committed)} only")
        self.committed = committed


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """:class:`SqliteEventLogStorage` that keeps one connection per database file open."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, tuple[Engine, FileId | None]] = OrderedDict()
        self._pid = os.getpid()  # the process whose connections these are
        self._tables_found: set[str] = set()
        self._written: OrderedDict[str, tuple[AssetKey, EventLogRecord]] = OrderedDict()
        self._last_row: tuple[EventLogEntry | None, str] = (None, "")
        # per thread: the open connection (and its change count at the start) of each database
        # file written by the batch being stored
        self._batch = threading.local()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def has_table(self, table_name: str) -> bool:
        # Not under ``_db_lock``: Dagster asks while it holds the index connection.
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def has_asset_key_col(self, column_name: str) -> bool:
        key = f"asset_keys.{column_name}"
        if key in self._tables_found:
            return True
        found = super().has_asset_key_col(column_name)
        if found:
            self._tables_found.add(key)
        return found

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        # Asked on the index connection for every stored asset event (the index-columns check).
        key = f"asset_keys.{column_name}"
        if key in self._tables_found:
            return True
        found = super()._has_asset_key_col_on_connection(conn, column_name)
        if found:
            self._tables_found.add(key)
        return found

    def has_secondary_index(self, name: str) -> bool:
        # Asked twice per asset-record read; a completed data migration stays completed.
        key = f"secondary_index.{name}"
        if key in self._tables_found:
            return True
        found = super().has_secondary_index(name)
        if found:
            self._tables_found.add(key)
        return found

    def _event_to_row(self, event: EventLogEntry) -> dict[str, Any]:
        row = super()._event_to_row(event)
        self._last_row = (event, row["event"])
        return row

    def _get_asset_entry_values(
        self, event: EventLogEntry, event_id: int, has_asset_key_index_cols: bool
    ) -> dict[str, Any]:
        last_event, text = self._last_row
        dagster_event = event.dagster_event
        if last_event is event and dagster_event is not None and dagster_event.is_step_materialization:
            # Dagster's own values for a materialization, with the record's text built around the
            # event's text serialized just before for the event row (not serialized a second time).
            values: dict[str, Any] = {
                "last_materialization": record_text(text, event_id),
                "last_run_id": event.run_id,
            }
            if has_asset_key_index_cols:
                values["last_materialization_timestamp"] = datetime_from_timestamp(event.timestamp)
        else:
            values = super()._get_asset_entry_values(event, event_id, has_asset_key_index_cols)
        record = values.get("last_materialization")
        if isinstance(record, str) and dagster_event is not None and dagster_event.asset_key:
            key = dagster_event.asset_key
            self._written[record] = (key, EventLogRecord(storage_id=event_id, event_log_entry=event))
            while len(self._written) > MAX_WRITTEN_RECORDS:
                self._written.popitem(last=False)
        return values

    def _get_latest_materialization_records(
        self, raw_asset_rows: Any
    ) -> Mapping[AssetKey, EventLogRecord | None]:
        known: dict[AssetKey, EventLogRecord | None] = {}
        rest = []
        for row in raw_asset_rows:
            hit = self._written.get(row["last_materialization"] or "")
            key = AssetKey.from_db_string(row["asset_key"])
            if hit is None or key != hit[0]:
                rest.append(row)
                continue
            details = AssetDetails.from_db_string(row["asset_details"])
            wiped = details.last_wipe_timestamp if details else None
            if wiped is not None and hit[1].event_log_entry.timestamp <= wiped:
                rest.append(row)  # Dagster's own code looks for the latest record after the wipe
                continue
            known[key] = hit[1]
        if not rest:
            return known
        return {**super()._get_latest_materialization_records(rest), **known}

    def _template_path(self) -> str:
        return os.path.join(self._base_dir, f"{_TEMPLATE_PREFIX}{DAGSTER_VERSION}.sqlite")

    def _drop_other_templates(self, template: str) -> None:
        """Remove other Dagster versions' templates (left behind by an upgrade or a downgrade).

        Safe beside a process of that version: one copying the template keeps reading its open
        file after the unlink, one about to open it gets FileNotFoundError and falls back to
        Dagster's own set-up (``_shard_from_template``), and a template it then makes again is
        removed by the next version change. Half-made templates (``*.tmp``) are left alone.
        """
        ours = os.path.basename(template)
        with contextlib.suppress(OSError), os.scandir(self._base_dir) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(_TEMPLATE_PREFIX) and name.endswith(".sqlite") and name != ours:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    def _make_template(self, template: str) -> None:
        """An empty run shard made by Dagster's own ``_initdb``, checkpointed into one file."""
        tmp = f"{template}.{os.getpid()}.tmp"
        engine = create_engine(
            f"sqlite:///{tmp}",
            poolclass=NullPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        try:
            self._initdb(engine)
        finally:
            engine.dispose()
        with contextlib.closing(sqlite3.connect(tmp)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp + suffix)
        os.replace(tmp, template)
        self._drop_other_templates(template)

    def _shard_from_template(self, shard: str) -> bool:
        """Put a copy of the empty-shard template at ``shard``'s path; False when it exists."""
        path = self.path_for_shard(shard)
        if os.path.exists(path):
            return False
        template = self._template_path()
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            if not os.path.exists(template):
                self._make_template(template)
            shutil.copyfile(template, tmp)
            os.link(tmp, path)  # never over a shard another process created meanwhile
        except Exception:  # the template only saves time: Dagster's own set-up is the fallback
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return True

    def _forget_index(self) -> None:
        self._tables_found.clear()
        self._written.clear()

    def _drop_engine(self, shard: str) -> None:
        entry = self._engines.pop(shard, None)
        if entry is not None:
            entry[0].dispose()
            if shard == INDEX_SHARD_NAME:
                self._forget_index()
        self._initialized_dbs.discard(shard)

    def _engine_for(self, shard: str) -> Engine:
        """The shard's engine; a new one when its file was deleted or replaced since, or when this
        process is a fork of the one that opened them."""
        if os.getpid() != self._pid:
            # A process forked from the owner (user code's pool in a step, say) must never use
            # the owner's SQLite connections: they are left to the owner, never closed here.
            for engine, _ in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._initialized_dbs.clear()
            self._forget_index()
            self._pid = os.getpid()
        path = self.path_for_shard(shard)
        entry = self._engines.get(shard)
        if entry is not None:
            if entry[1] is not None and entry[1] == _file_id(path):
                self._engines.move_to_end(shard)
                return entry[0]
            self._drop_engine(shard)
        if (
            shard != INDEX_SHARD_NAME
            and shard not in self._initialized_dbs
            and self._shard_from_template(shard)
        ):
            self._initialized_dbs.add(shard)
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=StaticPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        sqlalchemy_event.listen(engine, "connect", _tune)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn:  # a new file turned WAL after its connection was made
            _tune(conn.connection.dbapi_connection, None)
        self._engines[shard] = (engine, _file_id(path))
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[: max(0, len(runs) - MAX_OPEN_RUN_SHARDS)]:
            self._drop_engine(old)
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # type: ignore[override]
        batch: dict[str, tuple[Connection, int]] | None = getattr(self._batch, "open", None)
        if batch is not None:  # inside store_event_batch: join the batch's transaction
            yield self._batch_connection(batch, shard)
            return
        with self._db_lock:
            engine = self._engine_for(shard)
            with engine.connect() as conn:
                before = _changes(conn)
                with conn.begin():
                    yield conn
                wrote = _changes(conn) != before
            if wrote and shard != INDEX_SHARD_NAME:
                with contextlib.suppress(OSError):
                    os.utime(self.path_for_shard(shard))

    def _batch_connection(self, batch: dict[str, tuple[Connection, int]], shard: str) -> Connection:
        if shard not in batch:
            conn = self._engine_for(shard).connect()
            batch[shard] = (conn, _changes(conn))
            conn.begin()
        return batch[shard][0]

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Dagster's ``store_event`` for each event, in one transaction per database file.

        The files commit one after another (SQLite commits no transaction across files in WAL
        mode). A failure before the first commit rolls every file back and is raised: Dagster
        then stores the events one by one. A commit failing after another file committed is not
        raised, as Dagster would store every event again, twice in the committed files: the
        batch is stored again into the files that did not commit only (once; if that fails too,
        stderr says which file misses these events)."""
        if len(events) < 2:
            super().store_event_batch(events)
            return
        with self._db_lock:
            try:
                self._store_batch(events, frozenset())
            except _PartlyCommitted as part:
                try:
                    self._store_batch(events, part.committed)
                except Exception as err:  # raised, the committed files would get them twice
                    missing = sorted(set(self._shards_of(events)) - part.committed)
                    sys.stderr.write(
                        f"datacody: {len(events)} events are missing from {', '.join(missing)} "
                        f"(its commit failed twice: {err})\n"
                    )

    def _shards_of(self, events: Sequence[EventLogEntry]) -> list[str]:
        return [INDEX_SHARD_NAME, *dict.fromkeys(e.run_id for e in events)]

    def _store_batch(self, events: Sequence[EventLogEntry], skip: frozenset[str]) -> None:
        """Store ``events`` in one transaction per file, except in the files of ``skip`` (already
        committed): their writes are rolled back. Raises :class:`_PartlyCommitted` when a commit
        fails after another file's commit."""
        committed: list[str] = []
        written: list[str] = []
        batch: dict[str, tuple[Connection, int]] = {}
        self._batch.open = batch
        try:
            for event in events:
                self.store_event(event)
            for shard, (conn, before) in batch.items():
                if shard in skip:
                    conn.rollback()
                    continue
                changed = _changes(conn) != before
                conn.commit()
                committed.append(shard)
                if changed and shard != INDEX_SHARD_NAME:
                    written.append(shard)
        except BaseException as err:
            for conn, _before in batch.values():
                with contextlib.suppress(Exception):
                    conn.rollback()
            if (committed or skip) and isinstance(err, Exception):
                raise _PartlyCommitted(skip | frozenset(committed)) from err
            raise
        finally:
            self._batch.open = None
            for conn, _before in batch.values():
                conn.close()
            for shard in written:  # what Dagster's run watchers wait for (see above)
                with contextlib.suppress(OSError):
                    os.utime(self.path_for_shard(shard))

    def wipe(self) -> None:
        with self._db_lock:
            for shard in [s for s in self._engines if s != INDEX_SHARD_NAME]:
                self._drop_engine(shard)
            self._written.clear()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            for shard in list(self._engines):
                self._drop_engine(shard)


class DatacodySqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (same files) with the pooled event log above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData, config_value: Any
    ) -> DatacodySqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
