"""A UI run's steps forked from its run worker: they run the project, the dbt step through the run's
dbt worker, and recovery still finds a forked step whose worker died (by its mark file)."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from datacody_dagster.instance import ensure_instance_home
from datacody_dagster.runtime import step_fork
from datacody_dagster.runtime.dead_runs import STEP_MARKS, kill_run_processes, run_processes
from tests.conftest import write_project

pytestmark = pytest.mark.skipif(not step_fork.fork_available(), reason="steps fork only on Linux")

SPECS = {
    "shop.yaml": """\
        group: shop
        sources:
          raw_orders: {path: data/raw/orders.csv}
        assets:
          orders:
            sql: select id, amount from raw_orders where amount > 0
            checks:
              - unique: id
              - not_null: [id]
          big_orders:
            sql: select id from orders where amount > 10
        """
}
ORDERS = "id,amount\n1,5\n2,20\n3,0\n4,30\n"
LOCATION = """\
from datacody_dagster.definitions import build_definitions

defs = build_definitions({root!r})
"""


@pytest.fixture
def instance(tmp_path: Path) -> dg.DagsterInstance:
    home = ensure_instance_home(tmp_path / ".dagster_home")  # the dagster.yaml `datacody init` writes
    return dg.DagsterInstance.from_config(str(home))


def _asset_job(tmp_path: Path) -> dg.ReconstructableJob:
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    root = write_project(tmp_path / "shop", SPECS, {"data/raw/orders.csv": ORDERS}, dvc=False)
    location = tmp_path / "location.py"
    location.write_text(LOCATION.format(root=str(root)), encoding="utf-8")
    repo = ReconstructableRepository.for_file(str(location), "defs", str(tmp_path))
    return repo.get_reconstructable_job("__ASSET_JOB")


def test_a_ui_run_forks_its_steps_and_the_dbt_step_uses_the_run_workers_dbt_worker(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    result = dg.execute_job(_asset_job(tmp_path), instance=instance, raise_on_error=False)
    logs = instance.all_logs(result.run_id)
    said = [e.user_message or "" for e in logs]
    assert result.success, "\n".join(said[-30:])
    starts = [e for e in logs if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
    assert {e.step_key for e in starts} == {"source__raw_orders", "datacody_dbt_models"}
    # The dbt step found the worker the run worker started (a spawned or forkserver step would
    # not have it: it is a handle inherited by fork), in one parse for the run's two batches.
    dbt_lines = [s for s in said if s.startswith("dbt ran")]
    assert dbt_lines and all(s.endswith("(in the dbt worker)") for s in dbt_lines), dbt_lines
    materialized = instance.get_latest_materialization_event(dg.AssetKey("big_orders"))
    assert materialized is not None and materialized.run_id == result.run_id
    # A UI run keeps dbt's own log, and the dbt step's captured output shows dbt's console
    assert (tmp_path / "shop" / "dbt_project" / "logs" / "dbt.log").stat().st_size > 0
    manager = instance.compute_log_manager
    captured = [e for e in logs if e.dagster_event and e.dagster_event.event_type_value == "LOGS_CAPTURED"]
    keys = [e.dagster_event.logs_captured_data.file_key for e in captured if e.dagster_event]
    stdout = "".join(
        (manager.get_log_data([result.run_id, "compute_logs", key]).stdout or b"").decode() for key in keys
    )
    assert "Completed successfully" in stdout or "OK created" in stdout, stdout[-2000:]
    # the steps' marks are gone with the run
    marks = Path(instance.root_directory) / STEP_MARKS
    assert not marks.exists() or not any(marks.iterdir())


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _storage_of_a_step(instance_ref: object, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    step_instance = dg.DagsterInstance.from_ref(instance_ref)  # type: ignore[arg-type]
    queue.put(
        (type(step_instance.event_log_storage).__name__, type(step_instance.compute_log_manager).__name__)
    )


def test_a_forked_step_uses_the_pooled_event_log_and_captures_logs_without_a_mirror(
    instance: dg.DagsterInstance,
) -> None:
    home = Path(instance.root_directory)
    run_id = str(uuid.uuid4())
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    step_fork.prepare(home, run_id)
    try:
        step = ctx.Process(target=_storage_of_a_step, args=(instance.get_ref(), queue))
        step.start()
        used = queue.get(timeout=60)
        step.join(timeout=30)
    finally:
        step_fork.finish(home)
    # the pooled event log, and compute logs captured to Dagster's files without a tail mirror
    assert used == ("PooledSqliteEventLogStorage", "CapturedComputeLogManager")
    # this process (the run worker) keeps Dagster's own
    assert (
        type(dg.DagsterInstance.from_ref(instance.get_ref()).event_log_storage).__name__
        == "SqliteEventLogStorage"
    )


def test_a_forked_step_is_found_by_its_mark_and_its_mark_goes_with_it(instance: dg.DagsterInstance) -> None:
    """Its /proc environment is the run worker's from before the run (no run id in it): recovery
    finds it by the mark it leaves, kills it, and forgets the mark once the process is gone."""
    home = Path(instance.root_directory)
    run_id = str(uuid.uuid4())
    step_fork.prepare(home, run_id)
    try:
        step = multiprocessing.get_context("fork").Process(target=_sleep, args=(60,))
        step.start()
        deadline = time.monotonic() + 10
        while step.pid not in run_processes(instance) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run_processes(instance).get(step.pid) == run_id
        assert run_processes(instance, {str(uuid.uuid4())}) == {}  # another run's: not this one
        step_fork.finish(home)  # the executor returned without waiting for it (a failed run)
        assert run_processes(instance).get(step.pid) == run_id  # still found
        # another host's mark (a shared DAGSTER_HOME): neither reported nor removed
        elsewhere = home / STEP_MARKS / "1"
        elsewhere.write_text('{"run_id": "x", "started": 0, "host": "elsewhere"}', encoding="utf-8")
        assert 1 not in run_processes(instance) and elsewhere.exists()
        elsewhere.unlink()
        assert kill_run_processes(instance, {run_id}) == [step.pid]
        step.join(timeout=10)
        assert step.exitcode == -9
        assert run_processes(instance) == {}
        assert not any((home / STEP_MARKS).iterdir())  # the dead process's mark was dropped
    finally:
        step_fork.finish(home)
    later = multiprocessing.get_context("fork").Process(target=_sleep, args=(0,))
    later.start()  # forked after the run: no step of it, no mark
    later.join(timeout=10)
    assert not any((home / STEP_MARKS).iterdir())


def _judge(context: object, for_forkserver: bool, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In a spawned process (as a code server spawns its run workers)."""
    import contextlib

    from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext

    scope = DefinitionsLoadContext.scoped(context) if context is not None else contextlib.nullcontext()  # type: ignore[arg-type]
    forkserver = step_fork.building_for_forkserver() if for_forkserver else contextlib.nullcontext()
    with scope, forkserver:
        queue.put(step_fork.launched_run_worker())


def test_the_run_worker_is_known_by_dagsters_load_context() -> None:
    """A run worker starts its dbt worker while it builds the definitions: Dagster builds them
    there to reconstruct the run's job. The code server's own load (initialization), a plain
    build (the CLI) and a step forkserver's preload start none."""
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )

    reconstruction = DefinitionsLoadContext(load_type=DefinitionsLoadType.RECONSTRUCTION)
    initialization = DefinitionsLoadContext(load_type=DefinitionsLoadType.INITIALIZATION)
    with DefinitionsLoadContext.scoped(reconstruction):
        assert step_fork.launched_run_worker() is False  # this test session's main process
    queue = multiprocessing.get_context("spawn").Queue()
    for context, expected in [(None, False), (reconstruction, True), (initialization, False)]:
        spawned = multiprocessing.get_context("spawn").Process(target=_judge, args=(context, False, queue))
        spawned.start()
        assert queue.get(timeout=120) is expected, context
        spawned.join(timeout=30)
    spawned = multiprocessing.get_context("spawn").Process(target=_judge, args=(reconstruction, True, queue))
    spawned.start()
    assert queue.get(timeout=120) is False  # a forkserver's preload
    spawned.join(timeout=30)


def test_dagsters_alembic_heads_are_read_once_and_stay_right(instance: dg.DagsterInstance) -> None:
    from alembic.script import ScriptDirectory
    from dagster._core.storage import sql
    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from sqlalchemy import create_engine

    from datacody_dagster.runtime.alembic_heads import read_heads_once

    config = sql.get_alembic_config(sqlite_event_log.__file__)
    expected = ScriptDirectory.from_config(config).as_revision_number("head")  # read afresh
    read_heads_once()
    reads = []
    original = ScriptDirectory._load_revisions
    ScriptDirectory._load_revisions = lambda self: reads.append(1) or original(self)  # type: ignore[method-assign]
    try:
        database = Path(instance.root_directory) / "history" / "runs" / "index.db"
        instance.get_runs()  # creates the index database, at the head revision
        for _ in range(3):
            with create_engine(f"sqlite:///{database}").connect() as conn:
                assert sql.check_alembic_revision(config, conn) == (expected, expected)
    finally:
        ScriptDirectory._load_revisions = original  # type: ignore[method-assign]
    assert reads == []  # the scripts were not read again
