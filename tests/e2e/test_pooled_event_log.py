"""The pooled SQLite event log (runtime/event_log_storage.py) beside other processes and readers.

Real Dagster instances on SQLite files in temp folders; a second process writes the same
instance; a plain Dagster storage (what `dagster dev` uses) reads and watches what it writes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from datacody_dagster.instance import ensure_instance_home, project_instance
from datacody_dagster.runtime.event_log_storage import PooledSqliteEventLogStorage

REPO = Path(__file__).resolve().parents[2]
CHAIN = 12

ASSETS = f"""
import dagster as dg

def _chain(n):
    out = []
    for i in range(n):
        deps = [f"p{{i - 1}}"] if i else []

        @dg.asset(name=f"p{{i}}", deps=deps)
        def _a() -> dg.MaterializeResult:
            return dg.MaterializeResult(metadata={{"i": 1}})

        out.append(_a)
    return out

ASSETS = _chain({CHAIN})
"""

WRITER = (
    "import sys; from pathlib import Path; import dagster as dg\n"
    "from datacody_dagster.instance import project_instance\n"
    "ns = {}; exec(sys.argv[2], ns)\n"
    "instance = project_instance(Path(sys.argv[1]))\n"
    "for _ in range(2):\n"
    "    assert dg.materialize(ns['ASSETS'], instance=instance).success\n"
)


def _entry(run_id: str, text: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level=logging.INFO,
        user_message=text,
        run_id=run_id,
        timestamp=time.time(),
        step_key=None,
        job_name=None,
        dagster_event=None,
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = ensure_instance_home(tmp_path / ".dagster_home")  # the dagster.yaml `datacody init` writes
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_default_storage_is_pooled_and_a_configured_one_is_kept(home: Path, tmp_path: Path) -> None:
    instance = project_instance(tmp_path)
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    # same files as Dagster's default storage: the run worker and `dagster dev` read them
    assert Path(instance.event_log_storage._base_dir) == home / "history" / "runs"
    ref = instance.get_ref()  # what a launched run worker gets
    assert ref.storage_data is not None and ref.storage_data.class_name == "DatacodySqliteStorage"
    instance.dispose()
    # an instance whose dagster.yaml chooses its event log storage keeps it
    custom = ensure_instance_home(tmp_path / "custom_home")
    cfg = custom / "dagster.yaml"
    cfg.write_text(
        cfg.read_text()
        + "event_log_storage:\n  module: dagster._core.storage.event_log\n"
        + f"  class: SqliteEventLogStorage\n  config:\n    base_dir: {custom / 'events'}\n"
    )
    os.environ["DAGSTER_HOME"] = str(custom)
    other = project_instance(tmp_path)
    assert type(other.event_log_storage) is SqliteEventLogStorage
    other.dispose()


def test_two_processes_writing_one_instance_record_every_event(home: Path, tmp_path: Path) -> None:
    ns: dict = {}
    exec(ASSETS, ns)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), ASSETS], env=env)
    instance = project_instance(tmp_path)
    for _ in range(2):
        assert dg.materialize(ns["ASSETS"], instance=instance).success
    assert proc.wait(timeout=300) == 0
    instance.dispose()

    # read back with Dagster's own storage (NullPool), as `dagster dev` would
    plain = dg.DagsterInstance.from_config(str(home))
    assert type(plain.event_log_storage) is SqliteEventLogStorage
    runs = plain.get_runs()
    assert len(runs) == 4 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    for run in runs:
        logs = plain.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        assert len(logs) == CHAIN
    for i in range(CHAIN):  # the cross-run index got every run's materialization
        records = plain.fetch_materializations(dg.AssetKey(f"p{i}"), limit=10).records
        assert len(records) == 4
    with plain.event_log_storage.index_connection() as conn:  # type: ignore[attr-defined]
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    plain.dispose()


def test_a_watcher_in_another_storage_sees_each_write(tmp_path: Path) -> None:
    base = str(tmp_path / "runs")
    pooled = PooledSqliteEventLogStorage(base)
    run_id = str(uuid.uuid4())
    pooled.store_event(_entry(run_id, "first"))  # the run shard exists before the watch starts
    watcher = SqliteEventLogStorage(base)  # dagster dev's storage, tailing the run's .db file
    seen: list[str] = []
    got_all = threading.Event()

    def on_event(entry: EventLogEntry, _cursor: str) -> None:
        seen.append(entry.user_message)
        if len(seen) >= 3:
            got_all.set()

    watcher.watch(run_id, None, on_event)
    try:
        time.sleep(0.5)
        pooled.store_event(_entry(run_id, "second"))
        pooled.store_event(_entry(run_id, "third"))
        assert got_all.wait(timeout=15), f"the watcher saw only {seen}"
        assert seen == ["first", "second", "third"]
        # a read does not wake watchers (their own reads would wake them again, forever)
        shard = Path(pooled.path_for_shard(run_id))
        before = shard.stat().st_mtime_ns
        time.sleep(0.05)
        assert len(pooled.get_logs_for_run(run_id)) == 3
        assert shard.stat().st_mtime_ns == before
    finally:
        watcher.end_watch(run_id, on_event)
        watcher.dispose()
        pooled.dispose()


def test_a_run_shard_deleted_by_another_process_is_reopened(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    pooled = PooledSqliteEventLogStorage(str(base))
    run_id = str(uuid.uuid4())
    pooled.store_event(_entry(run_id, "before"))
    for suffix in (".db", ".db-wal", ".db-shm"):  # what `dagster instance wipe` does elsewhere
        (base / f"{run_id}{suffix}").unlink(missing_ok=True)
    pooled.store_event(_entry(run_id, "after"))
    plain = SqliteEventLogStorage(str(base))
    assert [e.user_message for e in plain.get_logs_for_run(run_id)] == ["after"]
    pooled.dispose()


def test_schema_answers_match_dagsters(tmp_path: Path) -> None:
    pooled = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    plain = SqliteEventLogStorage(str(tmp_path / "runs"))
    for _ in range(2):  # the second answer comes from what the first one found
        for table in ("asset_event_tags", "concurrency_slots", "no_such_table"):
            assert pooled.has_table(table) == plain.has_table(table)
        for column in ("cached_status_data", "last_materialization_timestamp", "no_such_column"):
            assert pooled.has_asset_key_col(column) == plain.has_asset_key_col(column)
    assert pooled.has_table("asset_event_tags") and not pooled.has_table("no_such_table")
    pooled.dispose()


def _step_chain() -> dg.AssetsDefinition:
    """Three assets in one step (like the dbt multi-asset), with the metadata kinds datacody writes."""

    @dg.multi_asset(
        specs=[dg.AssetSpec("m0"), dg.AssetSpec("m1", deps=["m0"]), dg.AssetSpec("m2", deps=["m1"])]
    )
    def _step():  # type: ignore[no-untyped-def]
        for i in range(3):
            yield dg.MaterializeResult(
                asset_key=f"m{i}",
                metadata={
                    "dagster/row_count": i,
                    "dagster/column_schema": dg.TableSchema(
                        columns=[dg.TableColumn("id", "BIGINT"), dg.TableColumn("v", "DOUBLE")]
                    ),
                    "preview": dg.MetadataValue.md("| id |\n|---|\n| 1 |"),
                    "profile": dg.MetadataValue.json({"v": {"min": 0.5, "hist": [1, 2, 3]}}),
                    "seconds": 0.25 * i,
                },
            )

    return _step


def test_a_record_this_process_wrote_is_served_as_written(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.definitions.data_version import get_input_event_pointer_tag
    from dagster._serdes import deserialize_value, serialize_value

    from datacody_dagster.runtime import event_log_storage

    built: list[int] = []
    real = event_log_storage.record_text
    monkeypatch.setattr(event_log_storage, "record_text", lambda text, i: built.append(i) or real(text, i))
    instance = project_instance(tmp_path)
    storage = instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    assert dg.materialize([_step_chain()], instance=instance).success
    assert len(built) == 3  # each materialization's record built around its event row's text
    plain = dg.DagsterInstance.from_config(str(home))
    with plain.event_log_storage.index_connection() as conn:  # type: ignore[attr-defined]
        rows = dict(conn.exec_driver_sql("select asset_key, last_materialization from asset_keys").all())
    for i in range(3):
        text = rows[dg.AssetKey(f"m{i}").to_string()]
        # what the downstream read got is what Dagster would have parsed from the index
        assert storage._written[text][1] == deserialize_value(text)
        # the text built around the event row's text is exactly what Dagster would write
        assert text == serialize_value(storage._written[text][1])
        latest = plain.get_latest_materialization_event(dg.AssetKey(f"m{i}"))
        assert latest is not None
        if i:  # the provenance Dagster wrote points at the upstream record of this run
            tags = latest.asset_materialization.tags  # type: ignore[union-attr]
            upstream = plain.fetch_materializations(dg.AssetKey(f"m{i - 1}"), limit=1).records[0]
            assert tags[get_input_event_pointer_tag(dg.AssetKey(f"m{i - 1}"))] == str(upstream.storage_id)
    [own] = storage.get_asset_records([dg.AssetKey("m2")])  # served without parsing it back
    assert (
        own.asset_entry.last_materialization_record
        is storage._written[rows[dg.AssetKey("m2").to_string()]][1]
    )
    # another process materializes m0 since: the pooled storage reads the new record, not its own
    plain.report_runless_asset_event(dg.AssetMaterialization("m0", metadata={"by": "other"}))
    newest = plain.fetch_materializations(dg.AssetKey("m0"), limit=1).records[0]
    [record] = storage.get_asset_records([dg.AssetKey("m0")])
    got = record.asset_entry.last_materialization_record
    assert got is not None and got.storage_id == newest.storage_id
    # a wipe after our write hides it, as in Dagster
    plain.wipe_assets([dg.AssetKey("m1")])
    assert storage.get_asset_records([dg.AssetKey("m1")]) == plain.get_asset_records([dg.AssetKey("m1")])
    plain.dispose()
    instance.dispose()


def _schema(path: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("select name, coalesce(sql, '') from sqlite_master").fetchall())


def test_a_new_run_shard_is_a_copy_of_dagsters_empty_shard(tmp_path: Path) -> None:
    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from dagster._core.storage.sql import check_alembic_revision, get_alembic_config

    base = tmp_path / "runs"
    pooled = PooledSqliteEventLogStorage(str(base))
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    pooled.store_event(_entry(first, "one"))
    templates = list(base.glob(".datacody-run-shard-*.sqlite"))
    assert len(templates) == 1 and not list(base.glob("*.tmp"))
    made: list[str] = []
    real_initdb = pooled._initdb
    pooled._initdb = lambda engine, for_index_shard=False: made.append(str(engine.url))  # type: ignore[method-assign]
    pooled.store_event(_entry(second, "two"))  # from the template: no table creation, no stamping
    pooled._initdb = real_initdb  # type: ignore[method-assign]
    assert made == []
    # the same schema and alembic revision as a shard Dagster creates itself
    plain = SqliteEventLogStorage(str(base))
    own = str(uuid.uuid4())
    plain.store_event(_entry(own, "three"))
    assert _schema(base / f"{second}.db") == _schema(base / f"{own}.db")
    config = get_alembic_config(sqlite_event_log.__file__)
    with plain.run_connection(second) as conn:
        revision, head = check_alembic_revision(config, conn)
        assert revision == head and head is not None
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    assert [e.user_message for e in plain.get_logs_for_run(second)] == ["two"]
    assert sorted(plain.get_all_run_ids()) == sorted([first, second, own])  # the template is no run
    plain.dispose()
    pooled.dispose()


def _planned_run_counts(instance: dg.DagsterInstance, run_id: str) -> tuple[int, int, int]:
    logs = instance.all_logs(run_id)
    planned = [e for e in logs if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED]
    checks = [e for e in logs if e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED]
    executions = instance.event_log_storage.get_asset_check_execution_history(  # type: ignore[attr-defined]
        dg.AssetCheckKey(dg.AssetKey("m2"), "positive"), limit=10
    )
    return len(planned), len(checks), len([x for x in executions if x.run_id == run_id])


def test_a_runs_planned_events_are_stored_in_one_transaction_per_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datacody_dagster.runtime.event_log_storage import batched_event_writes

    @dg.asset_check(asset=dg.AssetKey("m2"), name="positive")
    def _positive() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    instance = project_instance(tmp_path)
    storage = instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    batches: list[int] = []
    real = storage.store_event_batch
    monkeypatch.setattr(
        storage, "store_event_batch", lambda events: batches.append(len(events)) or real(events)
    )
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    with batched_event_writes():
        result = dg.materialize([_step_chain(), _positive], instance=instance)
    assert result.success and batches == [4]  # 3 assets and 1 check planned, in one batch
    assert "DAGSTER_EVENT_BATCH_SIZE" not in os.environ  # set for the run only
    plain = dg.DagsterInstance.from_config(str(home))  # what `dagster dev` reads
    assert _planned_run_counts(plain, result.run_id) == (3, 1, 1)
    for i in range(3):
        [record] = plain.get_asset_records([dg.AssetKey(f"m{i}")])
        assert record.asset_entry.last_run_id == result.run_id
    # a failure part-way rolls the whole batch back; Dagster then stores the events one by one
    run_id = str(uuid.uuid4())
    events = [_entry(run_id, f"e{i}") for i in range(3)]
    calls = 0
    real_store = SqliteEventLogStorage.store_event

    def failing(self: SqliteEventLogStorage, event: EventLogEntry) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk full")
        real_store(self, event)

    monkeypatch.setattr(SqliteEventLogStorage, "store_event", failing)
    with pytest.raises(RuntimeError):
        real(events)
    assert plain.all_logs(run_id) == []
    monkeypatch.setattr(SqliteEventLogStorage, "store_event", real_store)
    real(events)
    assert [e.user_message for e in plain.all_logs(run_id)] == ["e0", "e1", "e2"]
    plain.dispose()
    instance.dispose()


def test_a_template_that_cannot_be_made_falls_back_to_dagsters_set_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy.exc

    base = tmp_path / "runs"
    pooled = PooledSqliteEventLogStorage(str(base))

    def broken(_template: str) -> None:
        raise sqlalchemy.exc.OperationalError("create", {}, Exception("disk I/O error"))

    monkeypatch.setattr(pooled, "_make_template", broken)
    run_id = str(uuid.uuid4())
    pooled.store_event(_entry(run_id, "still stored"))
    plain = SqliteEventLogStorage(str(base))
    assert [e.user_message for e in plain.get_logs_for_run(run_id)] == ["still stored"]
    assert not list(base.glob(".datacody-run-shard-*")) and not list(base.glob("*.tmp"))
    plain.dispose()
    pooled.dispose()


def test_a_new_template_removes_other_versions_templates(tmp_path: Path) -> None:
    """After a Dagster upgrade the old version's template goes when the new one is made; a process
    of the old version still copying it keeps reading its open file, and a half-made template
    (``*.tmp``) is left to the process making it."""
    base = tmp_path / "runs"
    base.mkdir()
    old = base / ".datacody-run-shard-0.0.1.sqlite"
    old.write_bytes(b"old template " * 1000)
    half_made = base / ".datacody-run-shard-0.0.1.sqlite.4242.tmp"
    half_made.write_bytes(b"being made")
    other = base / "notes.sqlite"
    other.write_bytes(b"not ours")
    pooled = PooledSqliteEventLogStorage(str(base))
    with old.open("rb") as reader:  # an old-version process in the middle of its copy
        head = reader.read(13)
        pooled.store_event(_entry(str(uuid.uuid4()), "one"))
        assert head + reader.read() == b"old template " * 1000
    templates = [p.name for p in base.glob(".datacody-run-shard-*.sqlite")]
    assert templates == [f".datacody-run-shard-{dg.__version__}.sqlite"]
    assert half_made.exists() and other.exists()
    # a storage of the old version whose template vanished still makes its shards (Dagster's set-up)
    old_version = PooledSqliteEventLogStorage(str(base))

    def gone(_template: str) -> None:  # unlinked by the new version between its check and copy
        raise FileNotFoundError(str(old))

    old_version._template_path = lambda: str(old)  # type: ignore[method-assign]
    old_version._make_template = gone  # type: ignore[method-assign]
    run_id = str(uuid.uuid4())
    old_version.store_event(_entry(run_id, "two"))
    plain = SqliteEventLogStorage(str(base))
    assert [e.user_message for e in plain.get_logs_for_run(run_id)] == ["two"]
    plain.dispose()
    old_version.dispose()
    pooled.dispose()


def _store_from_a_fork(pooled: PooledSqliteEventLogStorage, run_id: str, parents: int, queue: object) -> None:
    pooled.store_event(_entry(run_id, "child"))
    engine = pooled._engine_for(run_id)
    with engine.connect() as conn:
        queue.put(id(conn.connection.dbapi_connection) != parents)  # type: ignore[attr-defined]


def test_a_forked_process_opens_its_own_connections(tmp_path: Path) -> None:
    """A process forked from one holding pooled connections (user code's pool inside a UI step)
    never writes through the parent's SQLite connection (SQLite: never carry one across fork)."""
    import multiprocessing

    base = tmp_path / "runs"
    pooled = PooledSqliteEventLogStorage(str(base))
    run_id = str(uuid.uuid4())
    pooled.store_event(_entry(run_id, "parent"))
    with pooled._engine_for(run_id).connect() as conn:
        parents = id(conn.connection.dbapi_connection)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_store_from_a_fork, args=(pooled, run_id, parents, queue))
    child.start()
    assert queue.get(timeout=60) is True
    child.join(timeout=30)
    assert child.exitcode == 0
    pooled.store_event(_entry(run_id, "parent again"))  # the parent's own connection still works
    plain = SqliteEventLogStorage(str(base))
    assert [e.user_message for e in plain.get_logs_for_run(run_id)] == ["parent", "child", "parent again"]
    pooled.dispose()
