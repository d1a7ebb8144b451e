"""The one-time legacy env-run clean-up reaches every instance the project's definitions are
served against (a code server's load, the optimizer sensor), is marked done in the instance's
storage (one pass for several homes on one database), and says when it runs or is waited for.
Real Dagster SQLite instances; legacy runs are recorded the way an older datacody left them."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.storage.dagster_run import DagsterRun

from datacody_dagster.legacy_env_runs import MARKER, _migrate, migrate, stored_marker
from datacody_dagster.run_markers import ENV_TAG
from tests.envs.helpers import shop_project


def record_run(instance: dg.DagsterInstance, tags: dict[str, str], key: str) -> str:
    """A finished run with one materialization of ``key``."""
    run_id = str(uuid.uuid4())
    status = dg.DagsterRunStatus.SUCCESS
    instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=status, tags=tags))
    data = StepMaterializationData(dg.AssetMaterialization(asset_key=dg.AssetKey([key])))
    kind = DagsterEventType.ASSET_MATERIALIZATION.value
    event = DagsterEvent(event_type_value=kind, job_name="__ASSET_JOB", event_specific_data=data)
    instance.report_dagster_event(event, run_id=run_id)
    return run_id


def new_home(path: Path, storage: Path | None = None) -> Path:
    """An instance home; with ``storage``, its SQLite storage lives there (shared by homes)."""
    path.mkdir(parents=True)
    config = "telemetry:\n  enabled: false\n"
    if storage is not None:
        config += f"storage:\n  sqlite:\n    base_dir: {storage}\n"
    (path / "dagster.yaml").write_text(config, encoding="utf-8")
    return path


def legacy_instance(home: Path) -> tuple[str, str]:
    """A never-migrated instance: prod's run of `orders`, then a legacy env build of `orders`
    (tagged ``datacody/env``, recorded on prod's key). Returns (prod run, legacy run)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        prod = record_run(instance, {}, "orders")
        legacy = record_run(instance, {ENV_TAG: "old"}, "orders")
        latest = instance.get_latest_materialization_event(dg.AssetKey(["orders"]))
        assert latest is not None and latest.run_id == legacy  # what readers see before
    return prod, legacy


def assert_migrated(home: Path, prod: str, legacy: str) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(legacy) is None
        latest = instance.get_latest_materialization_event(dg.AssetKey(["orders"]))
        assert latest is not None and latest.run_id == prod
        assert stored_marker(instance) == f"old {legacy}\n"
    assert (home / MARKER).read_text(encoding="utf-8") == f"old {legacy}\n"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A project and a never-migrated instance named by $DAGSTER_HOME, as `dagster dev` has
    them; Dagster's load context and the module's built `defs` are restored afterwards."""
    root = shop_project(tmp_path / "p")
    home = new_home(tmp_path / "home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DATACODY_PROJECT_DIR", str(root))
    monkeypatch.setattr(DefinitionsLoadContext, "_instance", None)
    import datacody_dagster.definitions as definitions

    monkeypatch.delattr(definitions, "defs", raising=False)
    return root, home


def test_a_code_location_load_migrates_the_instance_it_serves_and_a_runs_load_does_not(
    served: tuple[Path, Path], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.code_pointer import CodePointer
    from dagster._core.definitions.reconstruct import (
        initialize_repository_def_from_pointer,
        reconstruct_repository_def_from_pointer,
    )

    import datacody_dagster.definitions as definitions

    _, home = served
    prod, legacy = legacy_instance(home)
    pointer = CodePointer.from_module("datacody_dagster.definitions", "defs", working_directory=None)

    # a run's or step's process rebuilds the definitions: no clean-up there
    reconstruct_repository_def_from_pointer(pointer)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(legacy) is not None
    assert not (home / MARKER).exists()

    # the code server's load (`dagster dev`, the daemon's code servers) cleans it up, once
    monkeypatch.delattr(definitions, "defs")
    with caplog.at_level(logging.WARNING, logger="dagster"):
        repo = initialize_repository_def_from_pointer(pointer)
    assert dg.AssetKey(["orders"]) in repo.asset_graph.get_all_asset_keys()  # loaded as usual
    assert_migrated(home, prod, legacy)
    said = [r.getMessage() for r in caplog.records]
    assert any("reading the events of 1 environment build run " in m for m in said), said
    assert any("removed 1 environment build run recorded on prod's asset keys" in m for m in said), said


def test_a_plain_build_outside_a_served_load_leaves_the_instance_alone(served: tuple[Path, Path]) -> None:
    """`build_definitions` called by a program (no Dagster load under way) is no served load."""
    from datacody_dagster.definitions import build_definitions

    root, home = served
    _, legacy = legacy_instance(home)
    assert not DefinitionsLoadContext.is_set()
    build_definitions(root)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(legacy) is not None
    assert not (home / MARKER).exists()


def test_the_optimizer_sensor_migrates_the_instance_it_is_evaluated_against(tmp_path: Path) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.optimizer.dagster_defs import optimizer_definitions

    root = shop_project(tmp_path / "p")
    home = new_home(tmp_path / "home")
    prod, legacy = legacy_instance(home)
    (sensor,), _ = optimizer_definitions(compile_project(root))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        sensor(dg.build_sensor_context(instance=instance))
    assert_migrated(home, prod, legacy)


def test_a_second_home_on_the_same_storage_does_not_scan_again(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    first, second = new_home(tmp_path / "a", storage), new_home(tmp_path / "b", storage)
    prod, legacy = legacy_instance(first)
    with dg.DagsterInstance.from_config(str(first)) as instance:
        assert migrate(instance, first, lambda _: None) is not None
    assert_migrated(first, prod, legacy)

    said: list[str] = []
    reads: list[str] = []
    with dg.DagsterInstance.from_config(str(second)) as instance:
        real = instance.get_records_for_run

        def counted(run_id: str, *args: Any, **kwargs: Any) -> Any:
            reads.append(run_id)
            return real(run_id, *args, **kwargs)

        instance.get_records_for_run = counted  # type: ignore[method-assign]
        assert migrate(instance, second, said.append) is None
    assert said == [] and reads == []
    # the storage's marker is cached in the second home: its next opening costs one stat
    assert (second / MARKER).read_text(encoding="utf-8") == f"old {legacy}\n"


def test_a_process_waiting_for_the_pass_says_so_then_finds_it_done(tmp_path: Path) -> None:
    home = new_home(tmp_path / "home")
    prod, legacy = legacy_instance(home)
    said: list[str] = []
    result: list[object] = []
    with open(home / f".{MARKER}.lock", "a+") as held:  # another process's pass under way
        fcntl.flock(held, fcntl.LOCK_EX)

        def waiter() -> None:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                result.append(migrate(instance, home, said.append))

        thread = threading.Thread(target=waiter)
        thread.start()
        for _ in range(200):
            if said:
                break
            time.sleep(0.05)
        assert said and "waiting for another process to finish the one-time clean-up" in said[0]
        assert thread.is_alive()  # it waits on the lock
        with dg.DagsterInstance.from_config(str(home)) as instance:  # the other's pass finishes
            assert _migrate(instance, home / MARKER, lambda _: None).runs == {"old": [legacy]}
        fcntl.flock(held, fcntl.LOCK_UN)
    thread.join(30)
    assert not thread.is_alive() and result == [None]  # found it done: no second pass
    assert len(said) == 1
    assert_migrated(home, prod, legacy)


def test_a_real_code_server_migrates_on_start(tmp_path: Path) -> None:
    """`dagster api grpc` (the code server `dagster dev` and the daemon load the project in), on
    127.0.0.1, stopped by its pid: it cleans up the instance before it serves."""
    from dagster._grpc.client import DagsterGrpcClient

    root = shop_project(tmp_path / "p")
    home = new_home(tmp_path / "home")
    prod, legacy = legacy_instance(home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DAGSTER_HOME=str(home), DATACODY_PROJECT_DIR=str(root))
    module = ["--module-name", "datacody_dagster.definitions", "--attribute", "defs"]
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster", "api", "grpc", *module, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        deadline = time.monotonic() + 120
        while server.poll() is None and time.monotonic() < deadline:
            try:
                client.ping("up")
                break
            except Exception:
                time.sleep(0.2)
        assert server.poll() is None, "the code server stopped"
        assert_migrated(home, prod, legacy)  # done before it served
    finally:
        server.terminate()
        out = server.communicate(timeout=60)[0]
    assert "removed 1 environment build run recorded on prod's asset keys" in out, out


def test_a_storage_without_the_key_value_table_falls_back_to_the_file(tmp_path: Path) -> None:
    """An instance whose schema predates Dagster's key-value table: the pass runs, the home's
    file alone marks it done, and no opening fails."""
    from dagster._core.storage.runs.schema import KeyValueStoreTable

    home = new_home(tmp_path / "home")
    prod, legacy = legacy_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage: Any = instance.run_storage  # SQL run storage: it has a connection
        with storage.connect() as conn:
            conn.exec_driver_sql(f"DROP TABLE {KeyValueStoreTable.name}")
        assert stored_marker(instance) is None
        assert migrate(instance, home, lambda _: None) is not None
        assert migrate(instance, home, lambda _: None) is None
        assert instance.get_run_by_id(legacy) is None
        latest = instance.get_latest_materialization_event(dg.AssetKey(["orders"]))
        assert latest is not None and latest.run_id == prod
    assert (home / MARKER).read_text(encoding="utf-8") == f"old {legacy}\n"
