"""A UI run's steps forked from its run worker, which has imported and built what they need.

Dagster's multiprocess executor starts each step in a process of its own. Spawned, a step paid
8-25 s of imports on 2 cores; from a forkserver (a new interpreter that imports the heavy modules
and builds the definitions once per run, ``runtime/step_server.py``) the first step still started
3.8 s after the run, which made "Materialize all" 2.2x the CLI's time. The run worker has
already imported Dagster and built the definitions to plan the run: forked from it (on Linux),
a step starts in milliseconds. What only steps use is imported here first (:func:`prepare`);
dbt is imported and the project parsed in a dbt worker process while the first steps run, and
the dbt step, forked from the run worker, inherits its pipes (``runtime/dbt_worker.py``, as in a
`datacody materialize`).

Forking is safe here because of what the run worker does not do: it opens no DuckDB database
and starts no JVM (steps do), it holds no SQLite connection between its writes (Dagster's
storages use ``NullPool``; the held connections of ``sqlite_tuning`` are entered in each step,
after the fork, never in the run worker), and it forks only from its main thread, between
events, with no import or dbt invocation under way. Elsewhere (macOS, where forking a process
that loaded system frameworks is unsafe, or a storage that holds connections: :func:`forks_safely`)
the forkserver stays.

A forked step does not get a new ``/proc/PID/environ`` (it is the run worker's, from before it
knew its run), so the environment marker that recovery finds orphaned steps by is not there:
each step leaves a mark file instead (``dead_runs.mark_step_process``, read by
``dead_runs.run_processes``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from datacody_dagster.runtime.alembic_heads import read_heads_once
from datacody_dagster.runtime.dead_runs import mark_step_process, prune_step_marks
from datacody_dagster.runtime.process_gc import starting_up
from datacody_dagster.runtime.sqlite_tuning import fast_event_log, forget_inherited_tuning

# Imported by the run worker before its first fork: modules every kind of step imports (the
# list is what step processes imported after the fork, measured). The dvc.* ones are what DVC's
# Repo imports when a step opens it to version an output (~0.2 CPU-s in each step process before
# they were here).
STEP_IMPORTS = (
    "duckdb",
    "pyarrow.parquet",
    "datacody_dagster.runtime.dbt_runner",
    "datacody_dagster.checks.engine",
    "datacody_dagster.versioning.recording",
    "datacody_dagster.runtime.finalize",
    "datacody_dagster.runtime.event_log_storage",
    "datacody_dagster.runtime.compute_logs",
    "dvc.repo",
    "dvc.scm",
    "dvc.cachemgr",
    "dvc.data_cloud",
    "dvc.dirs",
    "dvc.lock",
    "dvc.repo.artifacts",
    "dvc.repo.datasets",
    "dvc.repo.metrics",
    "dvc.repo.params",
    "dvc.repo.plots",
    "dvc.repo.stage",
    "dvc_data.hashfile.db.local",
    "dvc_data.hashfile.status",
    "dvc.rwlock",
    "configobj",
    "fsspec.implementations.memory",
    "datacody_dagster.checks.dagster_results",
    "datacody_dagster.checks.targets",
    "datacody_dagster.runtime.input_files",
    "datacody_dagster.runtime.up_to_date",
    "datacody_dagster.versioning.ingest",
)

_CHILD: dict[str, str] = {}  # what a forked step needs to know: the instance folder, the run id
_HOOKED = False
LOG_MIRROR_ENV = "DATACODY_STEP_LOG_MIRROR"
_FOR_FORKSERVER = False
_EVENT_LOG = contextlib.ExitStack()


# Where steps are not forked from the run worker (:func:`forks_safely`), a forkserver imports
# these once per run (a module missing here is skipped by multiprocessing); the last one builds
# the run's definitions (runtime/step_server.py), so a step finds its imports done and the
# definitions built.
STEP_PRELOAD = (
    "dagster",
    "datacody_dagster.runtime.dbt_runner",
    "duckdb",
    "pyarrow.parquet",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dvc.repo",
    "datacody_dagster.runtime.step_server",
)


def fork_available() -> bool:
    """Whether this platform can fork steps from the run worker (Linux: elsewhere, forking a
    process that loaded system frameworks is unsafe)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def forks_safely(instance: Any) -> bool:
    """Whether a run of ``instance`` forks its steps from the run worker: on Linux, with Dagster's
    own SQLite storages, which hold no connection between two uses (``NullPool``). Any other
    storage (a pooled one, Postgres) may hold connections a forked step would share."""
    from dagster._core.storage.event_log.sqlite import SqliteEventLogStorage
    from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import (
        ConsolidatedSqliteEventLogStorage,
    )
    from dagster._core.storage.runs.sqlite import SqliteRunStorage

    nullpool = (SqliteEventLogStorage, ConsolidatedSqliteEventLogStorage)
    return (
        fork_available()
        and type(instance.event_log_storage) in nullpool
        and type(instance.run_storage) is SqliteRunStorage
    )


def launched_run_worker() -> bool:
    """Whether this process builds the definitions to execute a run: a run worker that a code
    server spawned (Dagster reconstructs the run's job there), on a platform where its steps are
    forked from it. Dagster leaves its load context set after a reconstruction, so a main
    process (the CLI, `dagster job execute`, a test session) is never taken for one."""
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )

    if not fork_available() or _FOR_FORKSERVER or not DefinitionsLoadContext.is_set():
        return False  # a forkserver's preload (step_server.py), or a plain build (the CLI)
    if multiprocessing.current_process().name == "MainProcess":
        return False
    return DefinitionsLoadContext.get().load_type == DefinitionsLoadType.RECONSTRUCTION


@contextlib.contextmanager
def building_for_forkserver() -> Iterator[None]:
    """Inside: the definitions are built by a step forkserver, which executes no run."""
    global _FOR_FORKSERVER
    _FOR_FORKSERVER = True
    try:
        yield
    finally:
        _FOR_FORKSERVER = False


def _in_forked_step() -> None:
    # Runs in every child this process forks (os.register_at_fork), and in their own forks.
    if not _CHILD:
        return
    with contextlib.suppress(Exception):  # a failure here must not take the step down
        mark_step_process(Path(_CHILD["home"]), _CHILD["run_id"])
    if os.getppid() != int(_CHILD["worker"]):
        # A process a step forked (user code's pool, say): findable by its mark like its step,
        # but it must not touch the step's SQLite connections nor reconfigure Dagster.
        return
    with contextlib.suppress(Exception):
        # Each step writes its events as a `datacody materialize` does (see sqlite_tuning.py);
        # never left: steps end by os._exit, and Dagster's last connection checkpoints the WAL.
        forget_inherited_tuning()  # the run worker's (hold=False): this one replaces it
        _EVENT_LOG.enter_context(fast_event_log(Path(_CHILD["home"])))
    with contextlib.suppress(Exception):
        _pooled_instances()


def _pooled_instances() -> None:
    """In a forked step: the instance Dagster builds from the run worker's ref gets the CLI's
    pooled event log (one connection per database file for the step's life, ``instance.
    pooled_storage_ref``) instead of a new engine and connection per event (measured, 0.38
    against 1.49 CPU-ms an event, and a step writes 20 to 60 of them), and compute logs captured
    without Dagster's ``tail`` mirror (``runtime/compute_logs.py``; ``DATACODY_STEP_LOG_MIRROR=1``
    keeps Dagster's, which also echoes each step's output on `dagster dev`'s terminal). Each
    rewrite of the ref stands alone: one that fails leaves the other."""
    from dagster import DagsterInstance

    rewrites: list[Callable[[Any], Any]] = []
    with contextlib.suppress(Exception):
        from datacody_dagster.instance import pooled_storage_ref

        rewrites.append(pooled_storage_ref)
    if os.environ.get(LOG_MIRROR_ENV) != "1":
        with contextlib.suppress(Exception):
            from datacody_dagster.runtime.compute_logs import captured_compute_logs_ref

            rewrites.append(captured_compute_logs_ref)
    dagsters = DagsterInstance.from_ref

    def from_ref(instance_ref: Any) -> DagsterInstance:
        for rewrite in rewrites:
            try:
                instance_ref = rewrite(instance_ref)
            except Exception:  # this rewrite only is skipped: the step still runs
                continue
        return dagsters(instance_ref)

    DagsterInstance.from_ref = staticmethod(from_ref)  # type: ignore[method-assign]


def prepare(home: Path, run_id: str) -> None:
    """In the run worker, before its first step is forked: imports, the child hook."""
    global _HOOKED
    import_now(list(STEP_IMPORTS))
    read_heads_once()
    _CHILD.update(home=str(home.resolve()), run_id=run_id, worker=str(os.getpid()))
    if not _HOOKED:
        os.register_at_fork(after_in_child=_in_forked_step)
        _HOOKED = True


def import_now(modules: list[str]) -> None:
    """Import ``modules`` here, for the steps forked next (a failure is left to the step's own
    import, which reports it where Dagster shows it). In a run worker, with the collector off
    and what they import frozen: the steps share it copy-on-write and never collect it."""
    with starting_up() if launched_run_worker() else contextlib.nullcontext():
        for module in modules:
            with contextlib.suppress(Exception):
                __import__(module)


def finish(home: Path) -> None:
    """In the run worker, when the executor returns: later forks of this process are no steps.

    The steps' marks stay: a step the executor stopped without waiting for it (a failed run)
    may still be alive, and recovery must find it. A mark goes when its process is gone."""
    _CHILD.clear()
    prune_step_marks(home)
