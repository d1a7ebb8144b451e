"""The dbt worker process (``runtime/dbt_worker.py`` starts it and talks to it).

It imports dbt at once, then waits for its first line on stdin: the dbt project to serve and
its environment (the parent sends it once the project is compiled and its dbt files written).
It parses that project, then answers one JSON line per request line. It imports only
``dbt_runner`` of this package (not the compiler: ~0.35 CPU-s the parent has already paid;
the sandbox plugin gets its folders from the parent too, see ``engines/sandbox.py``).
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

from datacody_dagster.runtime import dbt_runner
from datacody_dagster.runtime.dbt_schema_cache import SchemaCache, cache_file
from datacody_dagster.runtime.process_gc import starting_up

_STARTED = time.monotonic()
EARLY_WAIT_S = 300.0


_REQUESTER: list[int] = []  # the process whose invocation runs now, when not the parent


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie not yet reaped
    except OSError:
        return True


def _exit_with_parent(parent: int) -> None:
    """Exit as soon as the parent is gone (killed runs leave no dbt process behind), or the
    process that asked for the running invocation is (a UI run's dbt step, forked from the
    parent: killed, it gave up the locks dbt writes under)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            if _REQUESTER and _gone(_REQUESTER[0]):
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="datacody-dbt-worker-watch", daemon=True).start()


def _set_dbt_env(env: dict[str, Any]) -> None:
    for key in [k for k in os.environ if dbt_runner.is_dbt_env(k)]:
        if key not in env:
            del os.environ[key]
    os.environ.update({str(k): str(v) for k, v in env.items()})


def _serve(
    dbt_dir: Path, requests: IO[str], answers: IO[str], verbose: bool, file_log: bool, echo: bool
) -> None:
    # Parse now, while the parent imports Dagster; a failure is reported by the first request
    # (the failed parse is not kept, so that request parses again and returns dbt's errors).
    schemas = SchemaCache(cache_file(dbt_dir))
    schemas.install()
    dbt_runner.parse(dbt_dir, file_log=file_log)
    schemas.save()
    if verbose:  # how much of dbt's start the run could hide (the parent's first request waits for it)
        took = f"{time.monotonic() - _STARTED:.2f} s, {time.process_time():.2f} CPU-s"
        print(f"dbt worker: dbt imported and the project parsed in {took}", file=sys.stderr, flush=True)
    for line in requests:
        request = json.loads(line)
        # Said before dbt runs: a worker that dies after this line may have run models, so the
        # parent must not run them again in process (see DbtWorker.invoke_run).
        answers.write(json.dumps({"started": True}) + "\n")
        answers.flush()
        _set_dbt_env(request["env"])
        names = [str(n) for n in request["names"]]
        requester = int(request.get("requester") or 0)
        if requester and requester != os.getppid():
            _REQUESTER[:] = [requester]
        try:
            outcome = dbt_runner.invoke_run(dbt_dir, names, console=verbose, file_log=file_log, collect=echo)
        except Exception:  # the parent shows it: this process's stderr is nobody's without -v
            outcome = dbt_runner.Invocation(None, [], False, [traceback.format_exc()], None)
        finally:
            _REQUESTER.clear()
        answer = {
            "invocation": outcome.to_json(),
            "parses": dbt_runner.STATS.parses,
            "cpu_s": time.process_time(),  # the worker's CPU so far (benchmarks read it)
        }
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
        schemas.save()  # a schema first needed by this invocation (after the answer: off its path)


def main(argv: list[str]) -> int:
    parent, verbose = int(argv[0]), argv[1] == "verbose"
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C in the terminal: just exit
    # The answers keep the pipe the parent reads; dbt's console output (fd 1) goes elsewhere.
    answers = os.fdopen(os.dup(1), "w")
    target = 2 if verbose else os.open(os.devnull, os.O_WRONLY)
    os.dup2(target, 1)
    with starting_up():
        dbt_runner.preload()
        from datacody_dagster.engines.dbt_sandbox import hand_directories
    # A worker a run worker started while building its definitions (``start_early``) is served
    # within seconds or never (its run needs no dbt, or the executor is not ours): not left
    # waiting for a parent that will never write.
    if len(argv) > 2 and argv[2] == "early" and not select.select([sys.stdin], [], [], EARLY_WAIT_S)[0]:
        os._exit(0)
    first = sys.stdin.readline()
    if first:  # else the run needed no dbt: the parent closed stdin without a project
        project = json.loads(first)
        _set_dbt_env(project["env"])
        sandbox = project["sandbox"]
        listed = sandbox["directories"]
        hand_directories(Path(sandbox["root"]), None if listed is None else [Path(d) for d in listed])
        file_log, echo = bool(project.get("file_log", False)), bool(project.get("echo", False))
        _serve(Path(project["dbt_dir"]), sys.stdin, answers, verbose, file_log, echo)
    # The run is over (stdin closed): every answer is flushed and dbt holds no database open.
    # Skipping the interpreter's teardown of dbt's modules and objects saves ~0.5 CPU-s a run.
    answers.close()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
