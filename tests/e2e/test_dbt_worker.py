"""The run's dbt worker: dbt starts beside Dagster, serves the run's invocations, dies with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import write_project
from tests.e2e.test_dbt_in_process import BROKEN, CLEAN, DUPLICATE, SPEC

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose (its parent has not reaped it yet)
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_blocking_gate_and_reuse_through_the_worker(tmp_path: Path, dagster_home: Path) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime import dbt_runner
    from datacody_dagster.runtime.dbt_worker import dbt_worker
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    in_process = dbt_runner.STATS.invocations
    project = compile_project(root)
    with dbt_worker(project) as worker:
        assert worker is not None
        clean = materialize_project(root, project=project)
        assert clean.success, clean.errors
        # the early parse is the only one: the run's staging environment matched it
        assert worker.parses == 1
        assert worker.invocations == 2  # the blocking gate: two invocations, one dbt start
        (root / "data/raw/orders.csv").write_text(DUPLICATE)
        before = (root / "data/warehouse/shop/order_totals.parquet").read_bytes()
        bad = materialize_project(root)
        assert worker.parses == 1 and worker.invocations == 3  # order_totals never ran
        pid = worker.pid
    assert dbt_runner.STATS.invocations == in_process  # nothing ran in this process
    statuses = {r.asset: r.status for r in bad.rows}
    assert statuses == {"raw_orders": "materialized", "stg_orders": "quarantined", "order_totals": "skipped"}
    assert (root / "data/warehouse/shop/order_totals.parquet").read_bytes() == before
    assert not _alive(pid)  # reaped when the run ended


def test_dbt_error_through_the_worker_carries_the_spec_location(tmp_path: Path, dagster_home: Path) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime.dbt_worker import dbt_worker
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(tmp_path / "p", {"shop.yaml": BROKEN}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    project = compile_project(root)
    with dbt_worker(project) as worker:
        summary = materialize_project(root, project=project)
        assert worker is not None and worker.invocations == 1
    text = "\n".join(summary.errors)
    assert "asset_specs/shop.yaml:8:9: dbt error in `bad`" in text, text
    assert "no_such_function does not exist" in text
    assert "\x1b[" not in text and "Traceback" not in text


def test_a_dead_worker_falls_back_to_dbt_in_process(tmp_path: Path, dagster_home: Path) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime import dbt_runner
    from datacody_dagster.runtime.dbt_worker import dbt_worker
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    project = compile_project(root)
    in_process = dbt_runner.STATS.invocations
    with dbt_worker(project) as worker:
        assert worker is not None
        worker.process.kill()
        worker.process.wait()
        summary = materialize_project(root, project=project)
    assert summary.success, summary.errors
    assert worker.invocations == 0
    assert dbt_runner.STATS.invocations - in_process == 2


def test_a_worker_dying_mid_invocation_fails_it_without_a_rerun(tmp_path: Path) -> None:
    """Models the worker may have run are not run again in process: the invocation fails instead."""
    from datacody_dagster.runtime import dbt_runner
    from datacody_dagster.runtime.dbt_worker import DbtWorker

    write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    worker = DbtWorker()
    worker.process.kill()
    worker.process.wait()
    # a stand-in worker that takes the request, says it started dbt, then dies (as an OOM kill would)
    dies = "import sys, os; sys.stdin.readline(); print('{\"started\": true}', flush=True); os._exit(9)"
    pipe = subprocess.PIPE
    worker.process = subprocess.Popen([sys.executable, "-c", dies], stdin=pipe, stdout=pipe)
    in_process = dbt_runner.STATS.invocations
    outcome = worker.invoke_run(["orders"])
    worker.close()
    assert outcome is not None and not outcome.success
    assert "died while dbt ran" in outcome.messages[0] and "exit status 9" in outcome.messages[0]
    assert dbt_runner.STATS.invocations == in_process  # nothing ran again here
    assert worker.invoke_run(["orders"]) is None  # a worker known to be gone: the in-process path


def test_the_worker_dies_with_a_killed_run(tmp_path: Path) -> None:
    """A run killed with SIGKILL (no cleanup runs) leaves no dbt worker behind."""
    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    pid_file = tmp_path / "worker.pid"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.runtime.dbt_worker import dbt_worker
        with dbt_worker(compile_project(Path({str(root)!r}))) as worker:
            Path({str(pid_file)!r}).write_text(str(worker.pid))
            time.sleep(600)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the worker did not start"
            assert run.poll() is None, "the run exited early"
            time.sleep(0.1)
        worker_pid = int(pid_file.read_text())
        assert _alive(worker_pid)
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    deadline = time.monotonic() + 15
    while _alive(worker_pid):
        assert time.monotonic() < deadline, f"dbt worker {worker_pid} outlived its run"
        time.sleep(0.2)


def test_cli_materialize_runs_dbt_in_the_worker(tmp_path: Path, dagster_home: Path) -> None:
    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    # The folder the command runs in never shadows a module dbt imports (`python -P`).
    here = tmp_path / "here"
    here.mkdir()
    planted = tmp_path / "planted-csv-ran"
    (here / "csv.py").write_text(f"open({str(planted)!r}, 'w').close()\nfrom _csv import *\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DATACODY_DBT_WORKER", None)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "datacody"), "materialize", "-p", str(root), "--verbose"],
        env=env,
        cwd=here,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert out.count("(in the dbt worker)") == 2, out[-3000:]
    assert "(in process)" not in out
    assert not planted.exists()


def test_a_run_that_fails_kills_its_worker(tmp_path: Path) -> None:
    """A run ended by an exception has let go of prod's lock: its worker must not go on with dbt."""
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime.dbt_worker import dbt_worker

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    project = compile_project(root)
    with pytest.raises(KeyboardInterrupt), dbt_worker(project) as worker:
        assert worker is not None
        worker.invocations = 1  # as if dbt had run: a clean end would wait for the worker
        raise KeyboardInterrupt
    assert worker.process.returncode == -signal.SIGKILL


def test_an_unused_worker_is_stopped_at_once(tmp_path: Path) -> None:
    """A run that needs no dbt (say `--select` of a source) does not wait for dbt's start."""
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime import dbt_runner
    from datacody_dagster.runtime.dbt_worker import dbt_worker

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    project = compile_project(root)
    dbt_dir = (root / "dbt_project").resolve()
    started = time.monotonic()
    with dbt_worker(project) as worker:
        assert worker is not None and dbt_runner.served(dbt_dir)
        with dbt_worker(project) as nested:  # one worker per dbt project
            assert nested is None
    assert time.monotonic() - started < 5  # killed, not waited for through dbt's import and parse
    assert worker.process.returncode is not None and not _alive(worker.pid)
    assert not dbt_runner.served(dbt_dir)


def test_a_selection_of_other_assets_starts_no_worker(tmp_path: Path) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime.dbt_worker import dbt_worker

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    project = compile_project(root)
    with dbt_worker(project, select="raw_orders") as worker:
        assert worker is None
    for select in ("stg_orders", "raw_orders, order_totals", "raw_orders+", "group:shop"):
        with dbt_worker(project, select=select) as worker:
            assert worker is not None, select


def test_an_early_worker_serves_the_run_or_is_stopped(
    tmp_path: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`datacody materialize` starts the worker before compiling; the run hands it the project."""
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime.dbt_worker import dbt_worker, start_worker
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    early = start_worker()
    assert early is not None and early.dbt_dir is None  # importing dbt, no project yet
    project = compile_project(root)
    with dbt_worker(project, started=early) as worker:
        assert worker is early and worker.dbt_dir == (root / "dbt_project").resolve()
        # set after the parse (as prod's lock names itself): no variable dbt does not read
        # may make the first invocation parse again
        monkeypatch.setenv("DATACODY_SHARED_LOCKS", str(tmp_path / "lock"))
        summary = materialize_project(root, project=project)
        assert summary.success, summary.errors
        assert worker.parses == 1 and worker.invocations == 2
    assert not _alive(early.pid)

    unused = start_worker()
    assert unused is not None
    started = time.monotonic()
    with dbt_worker(project, select="raw_orders", started=unused) as worker:
        assert worker is None
    assert time.monotonic() - started < 5 and not _alive(unused.pid)  # stopped, not waited for
