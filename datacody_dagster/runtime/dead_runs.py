"""Runs whose process is gone: mark them failed, free their pool slots, report who holds a slot.

Every run Datacody starts carries its process's pid, start time and host as tags. A UI run's
worker records them itself before its first step; one that died before that (while loading the
code location, say) is known by Dagster's own "Started process for run (pid: N)" event, which
its code server's worker writes first (:func:`worker_tags`). Before the
next run starts, :func:`recover_dead_runs` looks at the runs the instance still believes are in
progress: one whose process no longer exists on this host is marked failed with the reason,
and every concurrency slot it (or any finished run) holds is freed, so a killed run never
blocks the next one. :func:`wait_for_pool` says which live run holds a pool and since when, and
gives up after a timeout instead of waiting forever.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

if TYPE_CHECKING:
    import dagster as dg

PID_TAG = "datacody/pid"
PID_STARTED_TAG = "datacody/pid_started"
HOST_TAG = "datacody/host"
ALIVE_AT_TAG = "datacody/pid_alive_at"
"""Never written to a run: the time a worker known only by Dagster's event was seen alive (a
process with that pid created later is another one)."""
STARTED_PROCESS = re.compile(r"^Started process for run \(pid: (\d+)\)")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Set by a run worker for its step processes: whoever finds the worker dead finds them by it.
# The instance's folder goes with the run id: every project and test on a machine has its own
# instance, and one must never kill another's steps (a run id it does not know is not its orphan).
# Named apart from the former DATACODY_RUN_ID, which processes of older code would still judge.
RUN_ID_ENV = "DATACODY_STEP_RUN_ID"
INSTANCE_ENV = "DATACODY_STEP_INSTANCE"
# Marks of step processes forked from their run worker (one file per pid), under the instance.
STEP_MARKS = "datacody-step-marks"


def run_tags() -> dict[str, str]:
    """Tags that identify the process running a run (this process)."""
    me = psutil.Process()
    return {PID_TAG: str(me.pid), PID_STARTED_TAG: f"{me.create_time():.3f}", HOST_TAG: socket.gethostname()}


def process_gone(tags: dict[str, str]) -> bool:
    """True when the tagged process surely no longer runs (same host, pid gone or reused)."""
    pid, host = tags.get(PID_TAG), tags.get(HOST_TAG)
    if pid is None or host != socket.gethostname():
        return False  # not ours to judge: another host, or a run Datacody did not start
    if int(pid) == os.getpid():
        return False
    try:
        proc = psutil.Process(int(pid))
        started, alive_at = tags.get(PID_STARTED_TAG), tags.get(ALIVE_AT_TAG)
        if started is not None and abs(proc.create_time() - float(started)) > 1.0:
            return True  # the pid was reused by another process
        if alive_at is not None and proc.create_time() > float(alive_at) + 1.0:
            return True  # created after the worker was seen alive: another process
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _local_code_server(tags: dict[str, str]) -> bool:
    """The run was launched on a code server of this host (its workers are this host's)."""
    from dagster._core.storage.tags import GRPC_INFO_TAG

    try:
        info = json.loads(tags.get(GRPC_INFO_TAG) or "null")
    except ValueError:
        return False
    if not isinstance(info, dict):
        return False
    return bool(info.get("socket")) or info.get("host") in LOCAL_HOSTS | {socket.gethostname()}


def worker_tags(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, str]:
    """The run's tags; for a run launched on a local code server whose worker has not recorded
    itself (it died first, or is still loading), the pid from Dagster's "Started process for
    run" event stands in, with the time it was seen alive. Without either: the tags as they are
    (nothing to judge)."""
    import dagster as dg

    tags = dict(run.tags)
    if PID_TAG in tags or not _local_code_server(tags):
        return tags
    # the latest: a resumed run has a new worker
    for record in reversed(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)):
        event = record.dagster_event
        found = STARTED_PROCESS.match((event.message if event else None) or record.user_message or "")
        if found:
            alive_at = f"{record.timestamp:.3f}"
            return {**tags, PID_TAG: found.group(1), HOST_TAG: socket.gethostname(), ALIVE_AT_TAG: alive_at}
    return tags


def instance_key(instance: dg.DagsterInstance) -> str:
    """The instance's folder, resolved: which instance a step process works for."""
    return str(Path(instance.root_directory).resolve())


def step_env(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """The environment variables that mark a process as working for ``run_id`` of ``instance``."""
    return {RUN_ID_ENV: run_id, INSTANCE_ENV: instance_key(instance)}


def mark_step_process(home: Path, run_id: str) -> None:
    """Record this process as a step of ``run_id`` of the instance at ``home``.

    For steps forked from their run worker (``runtime/step_fork.py``), whose ``/proc`` environment
    is the worker's from before it knew its run: :func:`run_processes` finds them by this file.
    """
    me = psutil.Process()
    folder = home / STEP_MARKS
    folder.mkdir(exist_ok=True)
    mark = {"run_id": run_id, "started": me.create_time(), "host": socket.gethostname()}
    part = folder / f".{me.pid}.part"  # renamed whole: a reader never sees half a mark
    part.write_text(json.dumps(mark), encoding="utf-8")
    os.replace(part, folder / str(me.pid))


def prune_step_marks(home: Path) -> None:
    """Remove the marks of step processes that are gone."""
    _marked(home)


def _marked(home: Path) -> dict[int, str]:
    """Marked step processes of this host still alive (pid -> run id).

    A mark is removed only when its process is surely gone: no such pid, a zombie, or a pid now
    another process's (created over a second apart, as :func:`process_gone` judges). A mark this
    process cannot judge (another host's, unreadable, access denied) is kept and not reported.
    """
    folder = home / STEP_MARKS
    if not folder.is_dir():
        return {}
    found: dict[int, str] = {}
    host = socket.gethostname()
    for mark in folder.iterdir():
        if mark.name.startswith(".") or not mark.name.isdigit():
            continue  # being written, or not a mark
        try:
            data = json.loads(mark.read_text(encoding="utf-8"))
            run_id, started = str(data["run_id"]), float(data["started"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if data.get("host", host) != host:
            continue
        try:
            proc = psutil.Process(int(mark.name))
            gone = abs(proc.create_time() - started) > 1.0 or proc.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            gone = True
        except psutil.Error:
            continue
        if gone:
            with contextlib.suppress(OSError):
                mark.unlink()
        else:
            found[int(mark.name)] = run_id
    return found


def run_processes(instance: dg.DagsterInstance, run_ids: set[str] | None = None) -> dict[int, str]:
    """Live processes (pid -> run id) working for a run of ``instance``: by their environment, or
    by their mark (:func:`mark_step_process`)."""
    found: dict[int, str] = {}
    for pid, run_id in _marked(Path(instance.root_directory)).items():
        if pid != os.getpid() and (run_ids is None or run_id in run_ids):
            found[pid] = run_id
    me = os.getpid()
    mine = instance_key(instance)
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            env = proc.environ()
            run_id = env.get(RUN_ID_ENV)
            if not run_id or env.get(INSTANCE_ENV) != mine:
                continue
            if (run_ids is None or run_id in run_ids) and proc.status() != psutil.STATUS_ZOMBIE:
                found[proc.pid] = run_id
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def kill_run_processes(instance: dg.DagsterInstance, run_ids: set[str]) -> list[int]:
    """SIGKILL the step processes of these runs (their worker died: they must not write on)."""
    killed = []
    for pid in run_processes(instance, run_ids):
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
            killed.append(pid)
    return killed


def stop_orphans(instance: dg.DagsterInstance) -> list[int]:
    """SIGKILL step processes of runs this instance reports finished (orphans of a dead worker)
    or no longer knows (a deleted run). Only processes marked with this instance's key are
    considered: a run id unknown here may be another instance's live run."""
    live = run_processes(instance)
    over = set()
    for run_id in set(live.values()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            over.add(run_id)
    return kill_run_processes(instance, over) if over else []


@dataclass(frozen=True)
class RecoveredRun:
    run_id: str
    reason: str


def recover_dead_runs(instance: dg.DagsterInstance) -> list[RecoveredRun]:
    """Mark in-progress runs whose process is gone as failed; free slots no live run holds."""
    import dagster as dg

    recovered: list[RecoveredRun] = []
    in_progress = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.CANCELING,
            ]
        )
    )
    for run in in_progress:
        tags = worker_tags(instance, run)
        if not process_gone(tags):
            continue
        reason = (
            f"the process running this run (pid {tags.get(PID_TAG)} on {tags.get(HOST_TAG)}) "
            "is gone (killed or crashed); marked failed by datacody before the next run"
        )
        instance.report_run_failed(run, message=reason)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(RecoveredRun(run.run_id, reason))
    stop_orphans(instance)  # step processes of runs whose worker died (now or earlier)
    storage = instance.event_log_storage
    for run_id in storage.get_concurrency_run_ids():
        holder = instance.get_run_by_id(run_id)
        if holder is None or holder.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
    return recovered


@dataclass(frozen=True)
class SlotHolder:
    pool: str
    run_id: str
    step_key: str
    since: datetime | None


def pool_holders(instance: dg.DagsterInstance, pool: str) -> list[SlotHolder]:
    """Who holds ``pool``'s slots now (run, step, since when)."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    assigned = {(p.run_id, p.step_key): p.assigned_timestamp for p in info.pending_steps}
    return [
        SlotHolder(pool, s.run_id, s.step_key, assigned.get((s.run_id, s.step_key)))
        for s in info.claimed_slots
    ]


def pool_full(instance: dg.DagsterInstance, pool: str) -> list[SlotHolder]:
    """The holders when every slot of ``pool`` is taken, else an empty list."""
    holders = pool_holders(instance, pool)
    info = instance.event_log_storage.get_concurrency_info(pool)
    limit = info.slot_count if info.slot_count else (info.limit or 0)
    return holders if limit and len(holders) >= limit else []


def describe(holders: list[SlotHolder]) -> str:
    parts = []
    for h in holders:
        since = h.since.astimezone(UTC).strftime("%H:%M:%S UTC") if h.since else "an unknown time"
        parts.append(f"run {h.run_id[:8]} (step {h.step_key}) since {since}")
    return ", ".join(parts)


def wait_for_pool(
    instance: dg.DagsterInstance,
    pool: str,
    timeout_s: float,
    say: Callable[[str], None] | None = None,
    poll_s: float = 1.0,
) -> None:
    """Wait until ``pool`` has a free slot; say once who holds it; raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    told = False
    while holders := pool_full(instance, pool):
        if not told and say is not None:
            say(f"waiting for pool `{pool}`: held by {describe(holders)} (timeout {timeout_s:.0f}s)")
            told = True
        if time.monotonic() >= deadline:
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"pool `{pool}` stayed busy for {timeout_s:.0f}s: held by {describe(holders)}",
                    None,
                    "wait for that run to finish (see it in the Dagster UI), stop it, or raise "
                    "--wait-timeout",
                )
            )
        recover_dead_runs(instance)
        time.sleep(poll_s)
