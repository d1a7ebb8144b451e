"""Prod's lock prefers writers: shared holders (prod's runs) that overlap without a gap cannot
starve an exclusive waiter (`apply`), which gets the lock within about one shared hold, after
which the shared ones go on; and a process that holds it shared (or whose parent does) is not
queued behind that writer, which would wait for it forever (real processes, real flocks)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from datacody_dagster.versioning.env_locks import TURNSTILE_S, env_lock, lock_path

HOLD_S = 0.6


def _reader(root: Path, stop: Path, delay: float) -> subprocess.Popen[str]:
    """A process that takes prod's lock shared again and again (HOLD_S each, no pause between),
    printing when it got and released it, until ``stop`` exists."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from datacody_dagster.versioning.env_locks import env_lock\n"
        f"root, stop = Path({str(root)!r}), Path({str(stop)!r})\n"
        "print('ready', flush=True)\n"
        f"time.sleep({delay})\n"
        "while not stop.exists():\n"
        "    with env_lock(root, 'prod', 'materialize', wait_s=30, shared=True):\n"
        "        print('got', time.time(), flush=True)\n"
        f"        time.sleep({HOLD_S})\n"
        "        print('rel', time.time(), flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _holds(out: str) -> list[tuple[float, float]]:
    got = [float(x.split()[1]) for x in out.splitlines() if x.startswith("got")]
    rel = [float(x.split()[1]) for x in out.splitlines() if x.startswith("rel")]
    return list(zip(got, rel, strict=False))


def test_overlapping_shared_holders_do_not_starve_an_exclusive_waiter(tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    readers = [_reader(tmp_path, stop, i * HOLD_S / 3) for i in range(3)]
    try:
        time.sleep(1.5)  # the three overlap: at every instant at least two hold the lock
        asked = time.time()
        with env_lock(tmp_path, "prod", "datacody apply", wait_s=10):
            got = time.time()
            time.sleep(0.5)
            released = time.time()
        time.sleep(1.5)
    finally:
        stop.touch()
        outs = [r.communicate(timeout=60)[0] for r in readers]
    assert got - asked < HOLD_S + 2.0, got - asked  # one shared hold, plus slack for a busy machine
    for proc, out in zip(readers, outs, strict=True):
        assert proc.returncode == 0, out
        holds = _holds(out)
        assert not [h for h in holds if h[0] < released and h[1] > got], holds  # none beside it
        assert [h for h in holds if h[0] >= released], holds  # and they went on after it


def test_a_shared_holder_and_its_children_pass_a_queued_writer(tmp_path: Path) -> None:
    """A run holds prod's lock shared and its steps (in process, or in child processes) take it
    again: with a writer queued meanwhile, they must not wait behind it (it waits for the run)."""
    with env_lock(tmp_path, "prod", "datacody materialize", shared=True):
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from pathlib import Path\n"
                "from datacody_dagster.versioning.env_locks import env_lock\n"
                f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'datacody apply', wait_s=30):\n"
                "    print('applied', flush=True)\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        turnstile = lock_path(tmp_path, "prod").with_suffix(".turnstile")
        deadline = time.monotonic() + 30
        while turnstile.read_text(encoding="utf-8") != f"pid {writer.pid}":  # queued
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.05)
        started = time.monotonic()
        with env_lock(tmp_path, "prod", "a step", wait_s=5, shared=True):  # in process
            pass
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "from pathlib import Path\n"
                "from datacody_dagster.versioning.env_locks import env_lock\n"
                f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'a step', wait_s=5, shared=True):\n"
                "    print('step', flush=True)\n",
            ],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
        )
        assert child.returncode == 0 and child.stdout.strip() == "step", child.stderr
        assert time.monotonic() - started < 5
        # A grandchild (say a run of a `dagster dev` started meanwhile) inherits the variable but
        # not the pass: it queues behind the writer (and, given 1 s, gives up naming it).
        grandchild = (
            "from pathlib import Path\n"
            "from datacody_dagster.versioning.env_locks import env_lock\n"
            f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'a run', wait_s=1, shared=True):\n"
            "    print('passed', flush=True)\n"
        )
        nested = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {grandchild!r}])",
            ],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
        )
        assert "passed" not in nested.stdout and f"pid {writer.pid} (queued for it" in nested.stderr, nested
        assert writer.poll() is None  # still queued behind the run
    out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0 and out.strip() == "applied"
    assert "DATACODY_SHARED_LOCKS" not in os.environ  # nothing held: nothing left named


def _queued_writer(root: Path) -> subprocess.Popen[str]:
    """An `apply` queued at prod's turnstile (it waits for the lock's shared holders)."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pathlib import Path\n"
            "from datacody_dagster.versioning.env_locks import env_lock\n"
            f"with env_lock(Path({str(root)!r}), 'prod', 'datacody apply', wait_s=30):\n"
            "    print('applied', flush=True)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    turnstile = lock_path(root, "prod").with_suffix(".turnstile")
    deadline = time.monotonic() + 30
    while not turnstile.exists() or turnstile.read_text(encoding="utf-8") != f"pid {writer.pid}":
        assert time.monotonic() < deadline and writer.poll() is None
        time.sleep(0.05)
    return writer


def test_a_shared_newcomer_holding_what_a_holder_waits_for_is_not_stuck_behind_the_writer(
    tmp_path: Path,
) -> None:
    """A (a CLI materialize) holds prod's lock shared and waits for the DuckDB pool; B (a UI run's
    step) holds the pool and asks for prod's lock shared; W (an apply) is queued for the lock.
    B must get past the turnstile within its short bound, so all three finish."""
    pool = tmp_path / "pool.lock"
    with open(pool, "a+", encoding="utf-8") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)  # B holds the pool's slot
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import fcntl\n"
                "from pathlib import Path\n"
                "from datacody_dagster.versioning.env_locks import env_lock\n"
                f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'materialize', wait_s=5, shared=True):\n"
                "    print('holding', flush=True)\n"
                f"    with open({str(pool)!r}, 'a+') as fh:\n"
                "        fcntl.flock(fh, fcntl.LOCK_EX)\n"  # A waits for the pool
                "print('done', flush=True)\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        writer = _queued_writer(tmp_path)
        asked = time.monotonic()
        with env_lock(tmp_path, "prod", "a step", wait_s=20, shared=True):
            waited = time.monotonic() - asked
        assert writer.poll() is None  # the writer still waits for A
    out, _ = holder.communicate(timeout=30)
    assert holder.returncode == 0 and out.strip() == "done"
    out, _ = writer.communicate(timeout=30)
    assert writer.returncode == 0 and out.strip() == "applied"
    assert TURNSTILE_S - 0.5 < waited < TURNSTILE_S + 2.0, waited  # it did queue, briefly


def test_a_newcomer_holding_nothing_queues_behind_the_writer_past_the_bound_without_a_deadlock(
    tmp_path: Path,
) -> None:
    """The same three-way scene, plus C (another CLI materialize: it asks for prod's lock before
    it holds anything): B (the step, holding the pool) still passes the turnstile within its bound,
    so A, W and B finish; C, holding nothing, stays queued behind W for longer than that bound and
    gets the lock only after W had it (with the bound for everyone, C took it beside A at 3 s)."""
    pool = tmp_path / "pool.lock"
    with open(pool, "a+", encoding="utf-8") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)  # B holds the pool's slot
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import fcntl\n"
                "from pathlib import Path\n"
                "from datacody_dagster.versioning.env_locks import env_lock\n"
                f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'materialize', wait_s=5, shared=True):\n"
                "    print('holding', flush=True)\n"
                f"    with open({str(pool)!r}, 'a+') as fh:\n"
                "        fcntl.flock(fh, fcntl.LOCK_EX)\n"  # A waits for the pool
                "print('done', flush=True)\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time\n"
                "from pathlib import Path\n"
                "from datacody_dagster.versioning.env_locks import env_lock\n"
                f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'datacody apply', wait_s=30):\n"
                "    print('applied', time.time(), flush=True)\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        turnstile = lock_path(tmp_path, "prod").with_suffix(".turnstile")
        deadline = time.monotonic() + 30
        while not turnstile.exists() or turnstile.read_text(encoding="utf-8") != f"pid {writer.pid}":
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.05)
        newcomer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time\n"
                "from pathlib import Path\n"
                "from datacody_dagster.versioning.env_locks import env_lock\n"
                "asked = time.time()\n"
                "def say(text): print('waiting', flush=True)\n"
                f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'datacody materialize', wait_s=30,\n"
                "              say=say, shared=True, holds_nothing=True):\n"
                "    print('got', time.time(), time.time() - asked, flush=True)\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert newcomer.stdout is not None and newcomer.stdout.readline().strip() == "waiting"
        asked = time.monotonic()
        with env_lock(tmp_path, "prod", "a step", wait_s=20, shared=True):
            waited = time.monotonic() - asked
        assert writer.poll() is None and newcomer.poll() is None  # both still wait for A
    out, _ = holder.communicate(timeout=30)
    assert holder.returncode == 0 and out.strip() == "done"
    out, _ = writer.communicate(timeout=30)
    assert writer.returncode == 0 and out.startswith("applied"), out
    applied = float(out.split()[1])
    out, _ = newcomer.communicate(timeout=30)
    assert newcomer.returncode == 0 and out.startswith("got"), out
    got, newcomer_waited = (float(x) for x in out.split()[1:3])
    assert TURNSTILE_S - 0.5 < waited < TURNSTILE_S + 2.0, waited  # the step queued only briefly
    assert got >= applied, (got, applied)  # the newcomer went after the writer, not beside A
    assert newcomer_waited > TURNSTILE_S, newcomer_waited
