"""Run generated dbt models in this process with dbt-core's programmatic ``dbtRunner``.

dbt is parsed once per change of the dbt project (the manifest is reused by every invocation of
a run; between runs dbt's own partial parsing on ``target/`` makes a re-parse cheap), and no
subprocess is started per invocation. dbt keeps global state (flags, adapters, the working
directory its relative paths assume), so invocations are serialized by one process-wide lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the dbt worker process imports this module: it needs dbt, not the compiler
    from datacody_dagster.compiler import CompiledProject

# dbt's own bookkeeping folders: writing them must not invalidate the parsed manifest.
_NOT_SOURCES = {"target", "logs", "dbt_packages", ".user.yml"}


@dataclass(frozen=True)
class DbtModelResult:
    name: str
    status: str  # success | error | skipped
    message: str | None
    execution_time: float


@dataclass
class RunnerStats:
    """What this process has paid for dbt so far (tests and benchmarks read it)."""

    parses: int = 0
    invocations: int = 0


@dataclass
class _Parsed:
    signature: tuple[tuple[tuple[str, int, int], ...], tuple[tuple[str, str], ...]]
    manifest: Any


@dataclass
class _ErrorEvents:
    """A dbt event callback keeping the error-level messages of one invocation (and, with
    ``console``, every line dbt's console shows at its default level)."""

    messages: list[str] = field(default_factory=list)
    console: list[str] | None = None

    def __call__(self, event: Any) -> None:
        info = getattr(event, "info", None)
        level = getattr(info, "level", "") if info is not None else ""
        if self.console is not None and level in ("info", "warn", "error"):
            self.console.append(str(getattr(info, "msg", "")))
        if level == "error":
            text = str(getattr(info, "msg", "")).strip()
            if text and text not in self.messages:
                self.messages.append(text)


STATS = RunnerStats()
_LOCK = threading.RLock()
_PARSED: dict[Path, _Parsed] = {}


def _signature(dbt_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every file dbt reads: a change means the manifest is stale."""
    out: list[tuple[str, int, int]] = []
    for dirpath, dirnames, filenames in os.walk(dbt_dir):
        if Path(dirpath) == dbt_dir:
            dirnames[:] = [d for d in dirnames if d not in _NOT_SOURCES]
        for name in filenames:
            if name in _NOT_SOURCES:
                continue
            st = os.stat(os.path.join(dirpath, name))
            out.append((os.path.join(dirpath, name), st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


DATACODY_DBT_ENV = frozenset({"DATACODY_DBT_STAGE", "DATACODY_DUCKDB_PATH", "DATACODY_PROJECT_ROOT"})
"""The variables of ours that dbt reads: ``env_var()`` in the generated project (emit/dbt.py; a
contract test keeps the two in step). Others (prod's lock holds, the worker switch) must not
count: a value that changes between a parse and an invocation would make dbt parse again."""


def is_dbt_env(key: str) -> bool:
    """Whether the environment variable ``key`` is dbt's (``DBT_*``) or one of ours dbt reads."""
    return key.startswith("DBT_") or key in DATACODY_DBT_ENV


def dbt_environment() -> dict[str, str]:
    """The variables of this process that dbt reads (what a dbt worker is handed)."""
    return {k: v for k, v in os.environ.items() if is_dbt_env(k)}


def _dbt_env() -> tuple[tuple[str, str], ...]:
    """The parse-time environment: another value means the manifest is stale."""
    return tuple(sorted(dbt_environment().items()))


@contextlib.contextmanager
def _in_dir(path: Path) -> Iterator[None]:
    # The generated models and the profile use paths relative to the dbt project, as the dbt
    # CLI resolves them from its working directory; the lock keeps this change to one caller.
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _common_args(dbt_dir: Path, file_log: bool = True) -> list[str]:
    # No logs/dbt.log where a person never reads it (the CLI's dbt worker): its debug lines (~90 a
    # model, each scrubbed of secrets by a scan of the whole environment) cost ~10 CPU-ms a model.
    # Runs launched from the UI or the Python API keep it: it is their only record of dbt's log.
    no_file_log = [] if file_log else ["--log-level-file", "none"]
    return [
        "--project-dir",
        str(dbt_dir),
        "--profiles-dir",
        str(dbt_dir),
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        # The manifest and the results stay in memory: rewriting the 0.5 MB+ manifest.json and
        # run_results.json costs ~1 s a run. Partial parsing's own state file is still written.
        "--no-write-json",
        *no_file_log,
    ]


def _manifest(dbt_dir: Path, log: Any, file_log: bool = True) -> tuple[Any, list[str]]:
    """The parsed manifest of the dbt project (parsed again only when its files changed)."""
    from dbt.cli.main import dbtRunner

    signature = (_signature(dbt_dir), _dbt_env())
    cached = _PARSED.get(dbt_dir)
    if cached is not None and cached.signature == signature:
        return cached.manifest, []
    errors = _ErrorEvents()
    result = dbtRunner(callbacks=[errors]).invoke(["parse", *_common_args(dbt_dir, file_log)])
    STATS.parses += 1
    if not result.success or result.result is None:
        detail = [str(result.exception)] if result.exception is not None else []
        return None, errors.messages + [d for d in detail if d not in errors.messages]
    _PARSED[dbt_dir] = _Parsed(signature, result.result)
    return result.result, []


def _release_database() -> None:
    """Close dbt-duckdb's database so that checks and readers can attach the file next.

    dbt-duckdb keeps its DuckDB instance open between invocations by default (``keep_open``),
    and DuckDB refuses a second, read-only attachment of the same file in one process.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held open
        return
    DuckDBConnectionManager.close_all_connections()


@dataclass(frozen=True)
class Invocation:
    """What one `dbt run` returned, as plain data (it crosses the dbt worker's pipe)."""

    parse_errors: list[str] | None  # not None: dbt could not parse the project, nothing ran
    results: list[tuple[str, str, str | None, float]]  # (name, status, message, seconds)
    success: bool
    messages: list[str]  # dbt's error-level log messages
    exception: str | None
    console: list[str] = field(default_factory=list)  # dbt's console lines, when collected

    def to_json(self) -> dict[str, Any]:
        return {
            "parse_errors": self.parse_errors,
            "results": [list(r) for r in self.results],
            "success": self.success,
            "messages": self.messages,
            "exception": self.exception,
            "console": self.console,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Invocation:
        return cls(
            parse_errors=data["parse_errors"],
            results=[(str(n), str(s), m, float(t)) for n, s, m, t in data["results"]],
            success=bool(data["success"]),
            messages=list(data["messages"]),
            exception=data["exception"],
            console=[str(line) for line in data.get("console") or []],
        )


def preload() -> None:
    """Import dbt and the parts its first `dbt run` on DuckDB imports (a dbt worker does it early)."""
    import dbt.adapters.duckdb
    import dbt.cli.main
    import dbt.task.run  # noqa: F401


def parse(dbt_dir: Path, file_log: bool = True) -> list[str]:
    """Parse the dbt project now (a run's dbt worker does it while Dagster starts); its errors."""
    with _LOCK, _in_dir(dbt_dir):
        return _manifest(dbt_dir, None, file_log)[1]


def invoke_run(
    dbt_dir: Path, names: list[str], console: bool = True, file_log: bool = True, collect: bool = False
) -> Invocation:
    """`dbt run --select names` in this process (parsing first when the dbt files changed).

    ``console``: dbt logs to stdout (False where nobody reads it: the quiet dbt worker);
    ``file_log``: dbt writes logs/dbt.log (False in the CLI's dbt worker); ``collect``: the
    console's lines come back in the invocation (a UI run's worker: its dbt step prints them).
    """
    from dbt.cli.main import dbtRunner

    with _LOCK, _in_dir(dbt_dir):
        manifest, parse_errors = _manifest(dbt_dir, None, file_log)
        if manifest is None:
            return Invocation(parse_errors, [], False, [], None)
        errors = _ErrorEvents(console=[] if collect else None)
        runner = dbtRunner(manifest=manifest, callbacks=[errors])
        try:
            quiet = [] if console else ["--log-level", "none"]
            outcome = runner.invoke(["run", "--select", *names, *_common_args(dbt_dir, file_log), *quiet])
        finally:
            _release_database()
        STATS.invocations += 1
    results = [
        (
            item.node.name,
            str(getattr(item.status, "value", item.status)),
            item.message,
            float(item.execution_time or 0.0),
        )
        for item in getattr(outcome.result, "results", None) or []
    ]
    exception = str(outcome.exception) if outcome.exception is not None else None
    return Invocation(None, results, bool(outcome.success), errors.messages, exception, errors.console or [])


class RemoteDbt(Protocol):
    """Something that runs `dbt run` elsewhere (``runtime/dbt_worker.py``)."""

    def invoke_run(self, names: list[str]) -> Invocation | None:
        """The invocation's outcome; None when it could not run there (then dbt runs here)."""
        ...


_REMOTE: dict[Path, RemoteDbt] = {}


def serve_with(dbt_dir: Path, remote: RemoteDbt | None) -> None:
    """Route the `dbt run` invocations of ``dbt_dir`` to ``remote`` (None: back in process)."""
    if remote is None:
        _REMOTE.pop(dbt_dir, None)
    else:
        _REMOTE[dbt_dir] = remote


def served(dbt_dir: Path) -> bool:
    """Whether a remote (a run's dbt worker) serves ``dbt_dir`` now."""
    return dbt_dir in _REMOTE


def run_models(project: CompiledProject, names: list[str], log: Any = None) -> dict[str, DbtModelResult]:
    """`dbt run` the given models; one result per model (never raises on model errors).

    In this process, or in the run's dbt worker when one serves this dbt project
    (``runtime/dbt_worker.py``: started by `datacody materialize` before Dagster is imported).
    """
    from datacody_dagster.runtime.dbt_errors import located

    dbt_dir = (project.root / project.settings.dbt_project_dir).resolve()
    worker = _REMOTE.get(dbt_dir)
    outcome = worker.invoke_run(names) if worker is not None else None
    where = "in the dbt worker" if outcome is not None else "in process"
    if outcome is None:  # no worker, or it is gone: the in-process path
        outcome = invoke_run(dbt_dir, names)
    if outcome.console:  # the worker's console lines, where this step's output is captured
        print("\n".join(outcome.console), flush=True)
    if outcome.parse_errors is not None:
        text = "\n".join(outcome.parse_errors[-5:]) or "dbt could not parse the project"
        return {n: DbtModelResult(n, "error", located(project, n, text), 0.0) for n in names}
    results: dict[str, DbtModelResult] = {}
    for name, status, message, seconds in outcome.results:
        if status != "success":
            # dbt's run result says what failed; its error events only add to an empty message
            text = message or "\n".join(m for m in outcome.messages if name in m) or status
            message = located(project, name, text)
        results[name] = DbtModelResult(name, status, message, seconds)
    if not results and not outcome.success:
        lines = outcome.messages[-5:] or ([outcome.exception] if outcome.exception else [])
        text = "\n".join(lines) or "dbt failed"
        for name in names:
            results[name] = DbtModelResult(name, "error", located(project, name, text), 0.0)
    if log is not None:  # one event-log entry per invocation, not one per model
        failed = [r.name for r in results.values() if r.status != "success"]
        took = sum(r.execution_time for r in results.values())
        log.info(
            f"dbt ran {len(results)} models in {took:.2f}s"
            + (f"; failed: {', '.join(failed)}" if failed else "")
            + f" ({where})"
        )
    return results
