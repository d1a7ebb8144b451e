"""Private Dagster API that datacody relies on, pinned: a Dagster upgrade that moves it fails here.

Each name is used where a comment says why (runtime/event_log_storage.py).
"""

from __future__ import annotations

import hashlib
import inspect

from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage


def _params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


def test_event_log_storage_internals_are_where_the_pooled_storage_expects() -> None:
    assert _params(SqliteEventLogStorage._connect) == ["self", "shard"]
    assert _params(SqliteEventLogStorage._initdb) == ["self", "engine", "for_index_shard"]
    assert _params(SqlEventLogStorage._has_asset_key_col_on_connection) == ["self", "conn", "column_name"]
    assert _params(SqlEventLogStorage._get_asset_entry_values) == [
        "self",
        "event",
        "event_id",
        "has_asset_key_index_cols",
    ]
    assert _params(SqlEventLogStorage._get_latest_materialization_records) == ["self", "raw_asset_rows"]
    assert _params(SqlEventLogStorage.has_secondary_index) == ["self", "name"]
    # the latest record is stored as the serialized EventLogRecord and read back from that column
    assert "EventLogRecord(" in inspect.getsource(SqlEventLogStorage._get_asset_entry_values)
    assert 'row["last_materialization"]' in inspect.getsource(
        SqlEventLogStorage._get_latest_materialization_records
    )
    # the event row's text is the serialized event, and the materialization branch of
    # _get_asset_entry_values, repeated in PooledSqliteEventLogStorage, is unchanged
    assert '"event": serialize_value(event)' in inspect.getsource(SqlEventLogStorage._event_to_row)
    source = inspect.getsource(SqlEventLogStorage._get_asset_entry_values)
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == "bb3b9df2c6c371fe"
    storage = SqliteEventLogStorage.__init__
    assert "_initialized_dbs" in inspect.getsource(storage) and "_db_lock" in inspect.getsource(storage)
    assert "_event_log_storage" in inspect.getsource(DagsterSqliteStorage.__init__)


def test_compute_log_internals_are_where_the_captured_manager_expects() -> None:
    """runtime/compute_logs.py captures a forked step's streams as Dagster's manager does, minus
    the tail mirror: the paths, the completion mark and the fd redirection are Dagster's own."""
    from dagster._core.execution import compute_logs
    from dagster._core.storage.compute_log_manager import ComputeIOType
    from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION, LocalComputeLogManager

    assert _params(compute_logs.redirect_to_file) == ["stream", "filepath"]
    assert set(IO_TYPE_EXTENSION) == {ComputeIOType.STDOUT, ComputeIOType.STDERR}
    assert _params(LocalComputeLogManager.get_captured_local_path) == [
        "self",
        "log_key",
        "extension",
        "partial",
    ]
    assert _params(LocalComputeLogManager.complete_artifact_path) == ["self", "log_key"]
    # Dagster's capture: both streams mirrored to those files, then the completion mark
    source = inspect.getsource(LocalComputeLogManager.capture_logs)
    assert "mirror_stream_to_file(sys.stdout, outpath)" in source
    assert "touch_file(self.complete_artifact_path(log_key))" in source
