"""A batch of events whose index file fails to commit after the run file committed: the events
are not stored twice in the run file (real pooled SQLite event log in a temp folder; the index
file's commit is made to fail once, as a full disk would)."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from sqlalchemy.engine import Connection

from datacody_dagster.instance import project_instance
from datacody_dagster.runtime.event_log_storage import PooledSqliteEventLogStorage


def _materialization(run_id: str, asset: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level=logging.INFO,
        user_message="",
        run_id=run_id,
        timestamp=time.time(),
        step_key=None,
        job_name="j",
        dagster_event=DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            "j",
            event_specific_data=StepMaterializationData(dg.AssetMaterialization(asset)),
        ),
    )


def test_an_index_commit_failing_after_the_run_file_committed_stores_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    instance = project_instance(tmp_path)
    storage = instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    run_id = str(uuid.uuid4())
    events = [_materialization(run_id, name) for name in ("a", "b")]
    real_commit = Connection.commit
    failures = []

    def commit(self: Connection) -> None:
        if not failures and str(self.engine.url.database).endswith("index.db"):
            failures.append(self.engine.url.database)
            raise OSError("disk full")
        real_commit(self)

    monkeypatch.setattr(Connection, "commit", commit)
    try:  # as Dagster stores a batch (instance/methods/event_methods.py)
        storage.store_event_batch(events)
    except Exception:
        for event in events:
            storage.store_event(event)
    assert failures  # the index commit did fail once
    plain = dg.DagsterInstance.from_config(str(tmp_path / "home"))  # what `dagster dev` reads
    stored = [e.asset_materialization for e in plain.all_logs(run_id)]
    assert sorted(m.asset_key.path[0] for m in stored if m is not None) == ["a", "b"]  # once each
    for name in ("a", "b"):  # and the index holds them: the latest materialization is known
        latest = plain.get_latest_materialization_event(dg.AssetKey(name))
        assert latest is not None and latest.run_id == run_id
    plain.dispose()
    instance.dispose()


def test_an_index_that_fails_to_commit_twice_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    instance = project_instance(tmp_path)
    storage = instance.event_log_storage
    run_id = str(uuid.uuid4())
    real_commit = Connection.commit

    def commit(self: Connection) -> None:
        if str(self.engine.url.database).endswith("index.db"):
            raise OSError("disk full")
        real_commit(self)

    monkeypatch.setattr(Connection, "commit", commit)
    storage.store_event_batch([_materialization(run_id, name) for name in ("a", "b")])  # no raise
    monkeypatch.setattr(Connection, "commit", real_commit)
    assert "2 events are missing from index" in capsys.readouterr().err
    assert len(instance.all_logs(run_id)) == 2  # the run file holds each once
    instance.dispose()
