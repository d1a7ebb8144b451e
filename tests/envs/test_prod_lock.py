"""`apply`/`rollback` and prod's `materialize` never write prod at the same time: materialize holds
prod's lock shared (prod runs still go side by side), apply and rollback exclusively; each waits
a bounded time for the other, says so, then fails naming the holder (a real flock holder in
another process, a real project)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from datacody_dagster.envs.lock import lock_path
from datacody_dagster.versioning.env_locks import TURNSTILE_S
from tests.envs.helpers import edit
from tests.envs.test_lifecycle import AMOUNT, cli, prod_md5s, prod_template, proj

__all__ = ["prod_template", "proj"]


def _hold(proj: Path, shared: bool, seconds: float) -> subprocess.Popen[str]:
    """A process that holds prod's lock (shared: as a running materialize) for ``seconds``."""
    mode = "fcntl.LOCK_SH" if shared else "fcntl.LOCK_EX"
    path = lock_path(proj, "prod")
    path.parent.mkdir(parents=True, exist_ok=True)
    note = "" if shared else "fh.seek(0); fh.truncate(); fh.write(f'pid {os.getpid()}'); fh.flush()\n"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, time\n"
            f"fh = open({str(path)!r}, 'a+')\n"
            f"fcntl.flock(fh, {mode})\n"
            f"{note}"
            "print('held', flush=True)\n"
            f"time.sleep({seconds})\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_materialize_waits_for_an_apply_then_fails_naming_it(proj: Path) -> None:
    before = prod_md5s(proj)
    holder = _hold(proj, shared=False, seconds=60)
    try:
        started = time.monotonic()
        result = cli(proj, "materialize", "--force", "--wait-timeout", "1")
        assert result.exit_code == 1, result.output
        assert time.monotonic() - started < 30
        assert "waiting up to 1 s for environment `prod`" in result.output
        assert f"environment `prod` is in use by pid {holder.pid} after waiting 1 s" in result.output
        assert "--wait-timeout" in result.output and "Traceback" not in result.output
        assert prod_md5s(proj) == before
    finally:
        holder.kill()
        holder.wait()


def test_materialize_goes_on_when_the_apply_ends_within_its_wait(proj: Path) -> None:
    holder = _hold(proj, shared=False, seconds=2)
    try:
        result = cli(proj, "materialize", "--force", "--wait-timeout", "60")
        assert result.exit_code == 0, result.output
        assert "waiting up to 60 s for environment `prod`" in result.output
        assert holder.poll() is not None  # it ran after the holder let go
    finally:
        holder.kill()
        holder.wait()


def test_materialize_stays_queued_behind_a_waiting_apply_past_the_steps_bound(proj: Path) -> None:
    """A CLI materialize asks for prod's lock holding nothing yet, so it waits behind an `apply`
    queued for a running materialize for its whole wait, not only the turnstile's bound (a step
    may hold a DuckDB pool slot, a CLI run does not), and fails naming the queued writer."""
    before = prod_md5s(proj)
    holder = _hold(proj, shared=True, seconds=60)  # a prod materialize in progress
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pathlib import Path\n"
            "from datacody_dagster.versioning.env_locks import env_lock\n"
            f"with env_lock(Path({str(proj)!r}), 'prod', 'datacody apply', wait_s=60):\n"
            "    pass\n",
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        turnstile = lock_path(proj, "prod").with_suffix(".turnstile")
        deadline = time.monotonic() + 30
        while not turnstile.exists() or turnstile.read_text(encoding="utf-8") != f"pid {writer.pid}":
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.05)
        started = time.monotonic()
        result = cli(proj, "materialize", "--force", "--wait-timeout", str(TURNSTILE_S + 2))
        assert result.exit_code == 1, result.output
        assert time.monotonic() - started >= TURNSTILE_S + 2
        assert f"in use by pid {writer.pid} (queued for it" in result.output, result.output
        assert "Traceback" not in result.output
        assert prod_md5s(proj) == before
    finally:
        for proc in (holder, writer):
            proc.kill()
            proc.wait()


def test_apply_and_rollback_wait_for_a_running_materialize(proj: Path) -> None:
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    before = prod_md5s(proj)
    holder = _hold(proj, shared=True, seconds=60)  # a prod materialize in progress
    try:
        for args in (("apply", "--env", "dev"), ("rollback", "orders")):
            result = cli(proj, *args, "--wait-timeout", "1")
            assert result.exit_code == 1, (args, result.output)
            assert "environment `prod` is in use by" in result.output
            assert "after waiting 1 s" in result.output and "Traceback" not in result.output
        assert prod_md5s(proj) == before
        # Prod runs share the lock: a second materialize does not wait for the first.
        edit(proj, AMOUNT[1], AMOUNT[0])
        ran = cli(proj, "materialize", "--force", "--wait-timeout", "0")
        assert ran.exit_code == 0, ran.output
        assert "waiting" not in ran.output
    finally:
        holder.kill()
        holder.wait()
    # The holder gone, apply goes through (prod's forced rebuild wrote the same bytes).
    edit(proj, *AMOUNT)
    applied = cli(proj, "apply", "--env", "dev")
    assert applied.exit_code == 0, applied.output
    assert prod_md5s(proj) != before


def test_a_run_launched_outside_the_cli_waits_in_its_steps(proj: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A run of the code location's assets (as the UI, a schedule or a sensor launch it) does not
    go through `datacody materialize`: each prod step holds prod's lock, and fails naming an
    apply that holds it past the step's wait."""
    import dagster as dg

    import datacody_dagster.runtime.prod_writes as prod_writes
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.instance import project_instance
    from datacody_dagster.runtime.code_location import run_definitions

    monkeypatch.setattr(prod_writes, "STEP_WAIT_S", 1.0)
    before = prod_md5s(proj)
    project = compile_project(proj)
    defs = run_definitions(project)
    holder = _hold(proj, shared=False, seconds=60)
    try:
        result = dg.materialize(
            list(defs.assets or []),  # type: ignore[arg-type]
            instance=project_instance(proj),
            selection=[dg.AssetKey("orders")],
            raise_on_error=False,
        )
        assert not result.success
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        text = str(failure.step_failure_data.error)
        assert f"environment `prod` is in use by pid {holder.pid} after waiting 1 s" in text
        assert prod_md5s(proj) == before
    finally:
        holder.kill()
        holder.wait()
    again = dg.materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        instance=project_instance(proj),
        selection=[dg.AssetKey("orders")],
        raise_on_error=False,
    )
    assert again.success


def test_shared_holders_are_named_and_leave_no_note(tmp_path: Path) -> None:
    """Shared holders (prod runs) are named to a waiter while they hold the lock, a process may
    hold it shared twice (a run and its in-process step), and none leaves a stale name behind."""
    import os

    import pytest

    from datacody_dagster.versioning.env_locks import EnvBusy, env_lock

    with env_lock(tmp_path, "prod", "materialize", shared=True):
        with env_lock(tmp_path, "prod", "step", shared=True):
            pass
        holder = _hold(tmp_path, shared=True, seconds=60)
        try:
            assert (lock_path(tmp_path, "prod").with_suffix(".readers") / str(os.getpid())).exists()
            with pytest.raises(EnvBusy) as busy, env_lock(tmp_path, "prod", "datacody apply", wait_s=0.3):
                pass
            message = busy.value.diagnostics[0].message
            assert f"pid {os.getpid()}" in message and "after waiting 0.3 s" in message
        finally:
            holder.kill()
            holder.wait()
    assert lock_path(tmp_path, "prod").read_text(encoding="utf-8") == ""
    assert not list(lock_path(tmp_path, "prod").with_suffix(".readers").iterdir())
    with env_lock(tmp_path, "prod", "datacody apply"):  # all let go: an exclusive hold goes through
        assert lock_path(tmp_path, "prod").read_text(encoding="utf-8") == f"pid {os.getpid()}"


def test_plan_waits_its_wait_timeout_for_prods_lock_then_fails_naming_the_holder(proj: Path) -> None:
    """`plan` finishes an interrupted apply first, under prod's lock: like the other commands it
    waits `--wait-timeout` seconds for it, says so, then exits 1 naming the holder."""
    from datacody_dagster.envs.journal import Journal, journal_path, write_journal
    from datacody_dagster.versioning.env_state import PROD, load_state

    prod = load_state(proj, PROD)
    assert prod is not None
    write_journal(proj, Journal("p0", "dev", "committing", (), prod.to_json(), prod.to_json()))
    holder = _hold(proj, shared=False, seconds=60)
    try:
        started = time.monotonic()
        result = cli(proj, "plan", "--wait-timeout", "1")
        assert result.exit_code == 1, result.output
        assert time.monotonic() - started < 30
        text = " ".join(result.output.split())
        assert "waiting up to 1 s for environment `prod`" in text
        assert f"environment `prod` is in use by pid {holder.pid} after waiting 1 s" in text
        assert "retry `datacody plan`" in text and "Traceback" not in text
        assert journal_path(proj).exists()
    finally:
        holder.kill()
        holder.wait()
    holder = _hold(proj, shared=False, seconds=2)
    try:
        done = cli(proj, "plan", "--wait-timeout", "60")
        assert done.exit_code == 0, done.output
        assert "waiting up to 60 s for environment `prod`" in done.output
        assert holder.poll() is not None and not journal_path(proj).exists()
    finally:
        holder.kill()
        holder.wait()
