"""Fuzz cases in worker processes watched from outside: a hard per-case timeout, a memory cap.

Each worker imports the compiler once and then runs case after case sent over a pipe. The
parent watches the case in progress: more than ``timeout`` seconds of the worker's CPU (or
``WALL_FACTOR`` times that of wall time, a wait that burns no CPU) is a hang, and the parent
kills the worker by PID, keeps the spec and starts a new worker; an in-process alarm cannot
interrupt a loop inside compiled code (sqlglot's parser is compiled). Each worker's address
space is capped (``RLIMIT_AS``, its size after imports plus ``memory_mb``), so an input that
makes memory explode ends as a ``MemoryError`` or a dead worker, a finding either way, never
a machine at swap. CPU time rather than wall time decides, because the machine is shared.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import re
import resource
import signal
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

import psutil

from tests.fuzz.fuzzer import Outcome, Report, SeedProject, cases, make_projects, seeds

WALL_FACTOR = 10.0
GRACE_S = 1.0
"""CPU seconds past ``timeout`` before the kill: Python code is stopped in-process first."""
START_TIMEOUT_S = 300.0
"""A worker that has not imported and laid out its projects by then is reported as dead."""

KEEP_PER_SIGNATURE = 5
DEFAULT_TARGET = "tests.fuzz.pool:check_in_project"

Case = tuple[int, int, int, bytes]
"""(fuzz seed, case number, seed project index, spec bytes)."""

Target = Callable[[list[SeedProject], int, bytes, float], Outcome]


def check_in_project(projects: list[SeedProject], index: int, data: bytes, timeout: float) -> Outcome:
    """The default worker target: validate and compile ``data`` in seed project ``index``."""
    # the in-process alarm stops slow Python without a restart; the parent stops the rest
    return projects[index].check(data, hang_s=timeout)


def _load_target(spec: str) -> Target:
    module, _, name = spec.partition(":")
    target: Target = getattr(importlib.import_module(module), name)
    return target


def _worker(conn: Connection, workdir: str, memory_mb: int, target_spec: str, timeout: float) -> None:
    """Worker main: set the memory cap, lay out the projects, answer cases until ``None``."""
    target = _load_target(target_spec)
    projects = make_projects(Path(workdir))
    vms = psutil.Process().memory_info().vms
    cap = vms + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        index, data = msg
        wall, cpu = time.monotonic(), time.process_time()
        try:
            outcome = target(projects, index, data, timeout)
        except MemoryError:
            outcome = Outcome("memory", "MemoryError")
        conn.send((outcome, time.monotonic() - wall, time.process_time() - cpu))


@dataclass
class Finding:
    """A bad case, saved as ``path`` (the spec bytes) for a replay."""

    seed: int
    number: int
    outcome: Outcome
    path: Path | None


@dataclass
class PoolReport:
    """Outcomes, per-case times (worker-measured; parent-measured for killed cases), findings."""

    report: Report = field(default_factory=Report)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    restarts: int = 0

    def quantile(self, values: list[float], q: float) -> float:
        """The ``q`` quantile (0..1) of ``values`` (0 when empty)."""
        if not values:
            return 0.0
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


@dataclass
class _Worker:
    proc: BaseProcess
    conn: Connection
    case: Case | None = None
    started: float = 0.0
    cpu0: float = 0.0


def _cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


class Pool:
    """``workers`` worker processes running cases; use as a context manager."""

    def __init__(
        self,
        workers: int = 1,
        timeout: float = 5.0,
        memory_mb: int = 2048,
        findings_dir: Path | None = None,
        target: str = DEFAULT_TARGET,
    ) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.findings_dir = findings_dir
        self.target = target
        self._ctx = multiprocessing.get_context("spawn")
        # in memory when the machine has it: cases write specs and dbt files, not data
        shm = Path("/dev/shm")
        where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        self._tmp = tempfile.TemporaryDirectory(prefix="datacody-fuzz-", dir=where)
        self._spawned = 0
        self._names = [name for name, _, _ in seeds()]
        self._saved: dict[str, int] = {}
        self._workers = [self._start() for _ in range(workers)]

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (by PID) and remove their project folders."""
        for w in self._workers:
            self._kill(w)
        self._workers = []
        self._tmp.cleanup()

    def _start(self) -> _Worker:
        self._spawned += 1
        workdir = Path(self._tmp.name) / f"w{self._spawned}"
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_worker,
            args=(child, str(workdir), self.memory_mb, self.target, self.timeout),
            daemon=True,
        )
        proc.start()
        child.close()
        if not parent.poll(START_TIMEOUT_S):
            raise RuntimeError(f"fuzz worker {proc.pid} did not start within {START_TIMEOUT_S:.0f} s")
        try:
            assert parent.recv() == "ready"
        except EOFError as exc:
            raise RuntimeError(f"fuzz worker {proc.pid} died while starting") from exc
        return _Worker(proc, parent)

    def _kill(self, w: _Worker) -> None:
        if w.proc.pid is not None and w.proc.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(w.proc.pid, signal.SIGKILL)
        w.proc.join(10)
        w.conn.close()

    def _restart(self, w: _Worker, out: PoolReport) -> _Worker:
        self._kill(w)
        out.restarts += 1
        fresh = self._start()
        self._workers[self._workers.index(w)] = fresh
        return fresh

    def _assign(self, w: _Worker, feed: Iterator[Case]) -> None:
        case = next(feed, None)
        w.case = case
        if case is None:
            return
        w.started = time.monotonic()
        w.cpu0 = _cpu_seconds(w.proc.pid or 0)
        w.conn.send((case[2], case[3]))

    def _record(self, out: PoolReport, case: Case, outcome: Outcome, wall: float, cpu: float) -> None:
        seed, number, index, data = case
        out.report.add(outcome, data)
        out.report.slowest_s = max(out.report.slowest_s, wall)
        out.walls.append(wall)
        out.cpus.append(cpu)
        if outcome.ok:
            return
        path = None
        key = outcome.signature or outcome.kind
        rare = outcome.kind in ("hang", "memory", "died")  # all kept: each costs a restart
        if self.findings_dir is not None and (rare or self._saved.get(key, 0) < KEEP_PER_SIGNATURE):
            self._saved[key] = self._saved.get(key, 0) + 1
            self.findings_dir.mkdir(parents=True, exist_ok=True)
            path = self.findings_dir / f"{outcome.kind}-s{seed}-c{number}-{self._names[index]}"
            path.write_bytes(data)
        out.findings.append(Finding(seed, number, outcome, path))

    def run(self, feed: Iterable[Case], on_case: Callable[[PoolReport], None] | None = None) -> PoolReport:
        """Run every case of ``feed``; ``on_case`` is called after each (progress)."""
        out = PoolReport()
        stream = iter(feed)
        for w in self._workers:
            self._assign(w, stream)
        while True:
            busy = [w for w in self._workers if w.case is not None]
            if not busy:
                return out
            ready = wait([w.conn for w in busy], timeout=0.1)
            for w in busy:
                case = w.case
                assert case is not None
                wall = time.monotonic() - w.started
                cpu = _cpu_seconds(w.proc.pid or 0) - w.cpu0
                if w.conn in ready:
                    try:
                        outcome, wall, cpu = w.conn.recv()
                    except (EOFError, OSError):
                        w.proc.join(5)
                        code = w.proc.exitcode
                        why = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
                        outcome = Outcome("died", f"worker died ({why})")
                elif cpu > self.timeout + GRACE_S or wall > self.timeout * WALL_FACTOR + GRACE_S:
                    outcome = Outcome("hang", "hang")
                else:
                    continue
                self._record(out, case, outcome, wall, cpu)
                if outcome.kind in ("died", "hang", "memory"):
                    w = self._restart(w, out)
                self._assign(w, stream)
                if on_case is not None:
                    on_case(out)


def case_feed(count: int, fuzz_seeds: Iterable[int]) -> Iterator[Case]:
    """``count`` cases for each fuzz seed, the same stream the in-process fuzzer runs."""
    for seed in fuzz_seeds:
        for number, index, data in cases(count, seed):
            yield seed, number, index, data


_FINDING_NAME = re.compile(r"-c\d+-(?P<name>[^/]+)$")


def replay_case(path: Path) -> Case:
    """A saved finding as a case again (its seed project is named at the end of the file name)."""
    found = _FINDING_NAME.search(path.name)
    names = [name for name, _, _ in seeds()]
    name = found.group("name") if found else path.name
    if name not in names:
        raise ValueError(f"{path.name}: name it ...-c<N>-<spec file>, the spec file one of {names}")
    return 0, 0, names.index(name), path.read_bytes()
