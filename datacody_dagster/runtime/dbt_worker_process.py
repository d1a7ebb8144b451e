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


def _exit_with_parent(parent: int) -> None:
    """Exit as soon as the parent is gone (killed runs leave no dbt process behind)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="datacody-dbt-worker-watch", daemon=True).start()


def _set_dbt_env(env: dict[str, Any]) -> None:
    for key in [k for k in os.environ if dbt_runner.is_dbt_env(k)]:
        if key not in env:
            del os.environ[key]
    os.environ.update({str(k): str(v) for k, v in env.items()})


def _serve(dbt_dir: Path, requests: IO[str], answers: IO[str], verbose: bool, file_log: bool) -> None:
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
        try:
            outcome = dbt_runner.invoke_run(dbt_dir, names, console=verbose, file_log=file_log)
        except Exception:  # the parent shows it: this process's stderr is nobody's without -v
            outcome = dbt_runner.Invocation(None, [], False, [traceback.format_exc()], None)
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
    first = sys.stdin.readline()
    if first:  # else the run needed no dbt: the parent closed stdin without a project
        project = json.loads(first)
        _set_dbt_env(project["env"])
        sandbox = project["sandbox"]
        listed = sandbox["directories"]
        hand_directories(Path(sandbox["root"]), None if listed is None else [Path(d) for d in listed])
        file_log = bool(project.get("file_log", False))
        _serve(Path(project["dbt_dir"]), sys.stdin, answers, verbose, file_log)
    # The run is over (stdin closed): every answer is flushed and dbt holds no database open.
    # Skipping the interpreter's teardown of dbt's modules and objects saves ~0.5 CPU-s a run.
    answers.close()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
