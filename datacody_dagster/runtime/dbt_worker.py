"""A dbt worker process for one `datacody materialize`: dbt starts on the second core.

Importing dbt and its first parse in a process cost ~2.4 CPU-s, importing Dagster and opening
its instance and DVC ~1.7: done one after the other in one process, a run waits for both. The
CLI starts this worker first thing (:func:`start_worker`, before it imports the compiler); the
worker imports dbt while the parent compiles, parses the project once the parent hands it over
(:func:`dbt_worker`, before Dagster is imported), then serves the run's `dbt run` invocations
over a pipe (one JSON line per request and per answer; dbt's own console output goes to
/dev/null, or to stderr with ``--verbose``). dbt changes the process's working directory and is
not fork-safe once imported, hence a new interpreter rather than a fork.

The parent gives the results to ``dbt_runner.run_models`` exactly as the in-process path does
(located errors, the blocking gate between invocations are the parent's business). The worker
exits when its stdin closes or its parent dies (it polls its parent pid), and the parent closes
it when the run ends, or at once when the run needs no dbt: no orphan outlives a run. Without
a worker (``dagster dev``'s steps, the Python API, ``DATACODY_DBT_WORKER=0``) or when it died,
dbt runs in process as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from datacody_dagster.runtime.dbt_runner import Invocation, dbt_environment, serve_with, served
from datacody_dagster.runtime.import_later import import_pending

if TYPE_CHECKING:  # the CLI imports this module before the compiler, to start dbt's import sooner
    from datacody_dagster.compiler import CompiledProject

# "0" turns the worker off (dbt then runs in the CLI's process, as under `dagster dev`).
WORKER_ENV = "DATACODY_DBT_WORKER"


class DbtWorker:
    """The parent's handle on one worker process; it serves one dbt project once given one."""

    def __init__(self, verbose: bool = False, early: bool = False) -> None:
        self.dbt_dir: Path | None = None
        self.invocations = 0
        self.parses = 0  # as the worker last reported them
        self.cpu_s = 0.0  # the worker's CPU seconds at its last answer
        self._lock = threading.Lock()
        self._owner = os.getpid()  # the process that started it (and alone may wait for it)
        self.shared = False  # True: processes forked from the owner send the invocations
        self._gone = False
        # -P: the working folder is not put first on sys.path (a csv.py there would run in place of
        # the standard library's when dbt imports it).
        argv = [sys.executable, "-P", "-m", "datacody_dagster.runtime.dbt_worker_process", str(os.getpid())]
        self.process = subprocess.Popen(
            [*argv, "verbose" if verbose else "quiet", *(["early"] if early else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if verbose else subprocess.DEVNULL,
        )

    def serve(
        self,
        dbt_dir: Path,
        root: Path,
        directories: list[Path] | None,
        file_log: bool = False,
        echo: bool = False,
    ) -> None:
        """Give the worker its dbt project: it parses it now (its dbt files must be written).

        ``directories``: the sandbox's folders of the project at ``root`` (None: it opted out),
        handed to the worker's sandbox plugin (``engines/dbt_sandbox.hand_directories``);
        ``file_log``: dbt writes logs/dbt.log; ``echo``: each answer carries dbt's console
        lines, which the requesting step prints (a UI run: its dbt step's captured output).
        """
        from datacody_dagster.runtime.staging import DBT_STAGE_ENV

        self.dbt_dir = dbt_dir
        # The run stages dbt's outputs (runtime/dbt_staging.py sets this around each invocation):
        # the early parse must see the same value, or the first invocation parses again.
        env = {**dbt_environment(), DBT_STAGE_ENV: "1"}
        listed = None if directories is None else [str(d) for d in directories]
        sandbox = {"root": str(root), "directories": listed}
        self._send(
            {"dbt_dir": str(dbt_dir), "env": env, "sandbox": sandbox, "file_log": file_log, "echo": echo}
        )

    def _send(self, message: dict[str, object]) -> bool:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write((json.dumps(message) + "\n").encode())
            stdin.flush()
        except OSError:
            return False
        return True

    @property
    def pid(self) -> int:
        return self.process.pid

    def invoke_run(self, names: list[str]) -> Invocation | None:
        """`dbt run --select names` in the worker.

        None when the worker was gone before it took the request (then dbt runs in process). A
        worker that dies while dbt runs may have built some models: that invocation fails, naming
        the worker's exit, rather than running the same models again here.
        """
        with self._lock:
            if self._gone or not self._alive():
                self._gone = True
                return None
            stdout = self.process.stdout
            assert stdout is not None
            try:
                request = {"names": names, "env": dbt_environment(), "requester": os.getpid()}
                if not self._send(request):
                    raise OSError("the dbt worker's stdin is closed")
                import_pending()  # while dbt runs there
                started = stdout.readline()
                line = stdout.readline() if started else b""
                if started and json.loads(started) != {"started": True}:
                    raise RuntimeError(f"dbt worker protocol: expected 'started', got {started[:200]!r}")
            except OSError:
                started, line = b"", b""
            except BaseException:
                if os.getpid() != self._owner:
                    # A UI run's dbt step, interrupted (Terminate) while dbt runs: the step gives
                    # up prod's lock and the DuckDB pool as it ends, so dbt must stop writing now,
                    # not when the run worker closes the worker after the other steps drain.
                    self._gone = True
                    with contextlib.suppress(OSError):
                        os.kill(self.process.pid, signal.SIGKILL)
                raise
            if not line:
                self._gone = True
                if not started:
                    return None
                return Invocation(
                    parse_errors=None,
                    results=[],
                    success=False,
                    messages=[f"the dbt worker process died while dbt ran these models ({self._exit()})"],
                    exception=None,
                )
            answer = json.loads(line)
            self.invocations += 1
            self.parses = int(answer["parses"])
            self.cpu_s = float(answer["cpu_s"])
            return Invocation.from_json(answer["invocation"])

    def _alive(self) -> bool:
        if os.getpid() == self._owner:
            return self.process.poll() is None
        # A process forked from the owner (a UI run's dbt step, runtime/step_fork.py) cannot wait
        # for its sibling: Popen.poll would say "exited" (ECHILD). It asks the kernel instead.
        import psutil

        try:
            return psutil.Process(self.process.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def _exit(self) -> str:
        if os.getpid() != self._owner:
            return "it is gone"
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            return "no exit status"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def close(self, timeout_s: float = 30.0, kill: bool = False) -> None:
        """Stop the worker and reap it (killed outright when it never ran anything, or ``kill``:
        a run that ended in an exception has given up prod's lock and the DuckDB writer pool,
        so dbt must not go on writing)."""
        # Used by processes forked from here (a UI run's dbt step), the worker's invocations are
        # counted there, not here: it is closed like a used one.
        unused = self.invocations == 0 and not self.shared
        if self.process.poll() is None and (kill or unused):
            # Unused (the run needed no dbt): do not wait for a parse nobody will read. A kill
            # while dbt writes target/partial_parse.msgpack costs the next run a full parse only:
            # dbt reads a damaged file as "parse everything" (so do two runs' workers parsing at
            # once, outside the DuckDB writer pool the in-process parse ran in).
            self.process.kill()
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _may_run_dbt(project: CompiledProject, select: str | None) -> bool:
    """Whether the run may invoke dbt: a dbt model exists and ``select`` may pick one.

    Only a selection of plain asset names is judged here (Dagster's selection syntax is parsed
    after Dagster is imported): `--select raw_orders` starts no worker, `orders+` does.
    """
    dbt_models = {n.name for n in project.plan.nodes if n.runs_in_dbt}
    if not dbt_models or select is None:
        return bool(dbt_models)
    names = [t for t in re.split(r"[\s,]+", select.strip()) if t]
    plain = all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t) and t in project.plan.names for t in names)
    return not plain or any(t in dbt_models for t in names)


def start_worker(verbose: bool = False, early: bool = False) -> DbtWorker | None:
    """A worker importing dbt from now on, or None when workers are off (``DATACODY_DBT_WORKER=0``).

    `datacody materialize` calls it first thing, so that dbt's import (~1.2 CPU-s) overlaps the
    CLI's own imports and compile; :func:`dbt_worker` then gives it the project, or stops it.
    """
    if os.environ.get(WORKER_ENV, "1") == "0":
        return None
    return DbtWorker(verbose, early)


_EARLY: list[DbtWorker] = []


def start_early(verbose: bool = False) -> None:
    """Start a worker now for a run that this process will execute (:func:`take_early` adopts it):
    a UI run's worker starts it while it builds the definitions (``runtime/code_location.py``)."""
    worker = start_worker(verbose, early=True)  # it exits unless served within minutes
    if worker is not None:
        _EARLY.append(worker)


def take_early() -> DbtWorker | None:
    """The worker :func:`start_early` started, if any (the caller serves it or closes it)."""
    return _EARLY.pop() if _EARLY else None


@contextlib.contextmanager
def dbt_worker(
    project: CompiledProject,
    verbose: bool = False,
    select: str | None = None,
    started: DbtWorker | None = None,
    file_log: bool = False,
    shared: bool = False,
) -> Iterator[DbtWorker | None]:
    """Serve the dbt invocations of what runs inside the block from a worker.

    Call it before importing Dagster. ``started``: a worker :func:`start_worker` started earlier
    (else one is started now). Yields None (dbt runs in process) when the run cannot invoke dbt
    (no dbt model, or a ``select`` of other assets' names), workers are turned off
    (``DATACODY_DBT_WORKER=0``) or one is already active; a ``started`` worker not used is
    stopped at once.
    """
    dbt_dir = (project.root / project.settings.dbt_project_dir).resolve()
    if not _may_run_dbt(project, select) or served(dbt_dir):
        if started is not None:
            started.close()
        yield None
        return
    worker = started or start_worker(verbose)
    if worker is None:
        yield None
        return
    from datacody_dagster.emit.files import sync_generated_files
    from datacody_dagster.engines.sandbox import project_directories

    sync_generated_files(project)  # the worker parses what the run will run
    worker.shared = shared
    # a worker shared with forked steps (a UI run's) echoes dbt's console to them
    worker.serve(dbt_dir, project.root, project_directories(project), file_log, echo=shared)
    serve_with(dbt_dir, worker)
    failed = True
    try:
        yield worker
        failed = False
    finally:
        serve_with(dbt_dir, None)
        worker.close(kill=failed)
