"""The Dagster instance the CLI and the code location share.

``DAGSTER_HOME`` wins when set; otherwise the project keeps its instance (SQLite storage) in
``<project>/.dagster_home`` so that `datacody materialize`, `history` and `dagster dev`
(started with DAGSTER_HOME pointing there, as the README shows) see the same event log.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

DAGSTER_YAML = """\
# Dagster instance of this project (SQLite event log, local compute logs).
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # One writer per DuckDB file across runs (the dbt step sits in the datacody_duckdb pool).
    default_limit: 1
# Dagster's default launcher plus a run-worker health check from the run's pid tags: under
# `dagster dev`, the daemon fails a run whose process died, then frees its pool slots.
# (`datacody materialize` also fails runs of this instance whose process is gone.)
run_launcher:
  module: datacody_dagster.runtime.run_worker
  class: DatacodyRunLauncher
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_resume_run_attempts: 0
  poll_interval_seconds: 10
  free_slots_after_run_end_seconds: 10
# A run launched from the UI waits in the queue until the daemon's next look: 1 s, not 5.
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""


def ensure_instance_home(home: Path) -> Path:
    """Create the instance folder with its dagster.yaml (an existing file is kept)."""
    from datacody_dagster.emit.files import atomic_write_text

    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        atomic_write_text(cfg, DAGSTER_YAML)
    return home


def dagster_home_path(root: Path) -> Path:
    """$DAGSTER_HOME when set, else ``<project>/.dagster_home`` (not created)."""
    env = os.environ.get("DAGSTER_HOME")
    return Path(env) if env else root / ".dagster_home"


def project_dagster_home(root: Path) -> Path:
    """$DAGSTER_HOME when set (created when missing), else ``<project>/.dagster_home``."""
    return ensure_instance_home(dagster_home_path(root))


def project_instance(root: Path) -> DagsterInstance:
    """A persistent instance for the project (never an ephemeral one: history must survive)."""
    home = project_dagster_home(root)
    os.environ.setdefault("DAGSTER_HOME", str(home))
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    instance = DagsterInstance.from_ref(pooled_storage_ref(InstanceRef.from_dir(str(home))))
    from datacody_dagster.legacy_env_runs import MARKER, migrate

    if not (home / MARKER).exists():  # once per instance: env builds an older datacody put on prod's keys
        migrate(instance, home)
    return instance


def migrate_served_instance() -> None:
    """Run the one-time legacy env-run clean-up (``legacy_env_runs``) on the instance a code
    location is being loaded against: `dagster dev`'s and the daemon's code servers, `dg`.

    Only while Dagster loads definitions to serve them (its INITIALIZATION load, with
    ``$DAGSTER_HOME`` naming the instance), never in a run's or step's reconstruction, nor
    where no persistent instance is named. Once done it costs one ``stat``. A failure is logged
    and never breaks the code location's load."""
    env = os.environ.get("DAGSTER_HOME")
    if not env:
        return
    home = Path(env)
    from datacody_dagster.legacy_env_runs import MARKER

    if (home / MARKER).exists() or not os.access(home, os.W_OK):  # done, or a read-only home
        return
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )

    if not DefinitionsLoadContext.is_set():  # a plain build (the CLI, tests): not a served load
        return
    if DefinitionsLoadContext.get().load_type != DefinitionsLoadType.INITIALIZATION:
        return
    log = logging.getLogger("dagster")
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    try:
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            migrate_instance(instance, log.warning)
    except Exception:
        log.exception("datacody: the one-time clean-up of legacy environment build runs failed")


_RETRY_FAILED_S = 3600.0
_FAILED_AT: dict[Path, float] = {}
"""Homes whose clean-up failed in this process, and when: not tried again at every sensor tick
(each try reads every env build's events first) before ``_RETRY_FAILED_S``."""


def migrate_instance(instance: DagsterInstance, say: Callable[[str], None]) -> None:
    """The one-time legacy env-run clean-up on an instance Dagster handed over (a sensor's, the
    code server's), its home being the instance's root directory; a read-only home is skipped.
    A failure (a database role without DELETE, a read-only replica) is said, never raised, and
    tried again at most once an hour."""
    from datacody_dagster.legacy_env_runs import MARKER, migrate

    home = Path(instance.root_directory)
    if (home / MARKER).exists() or not os.access(home, os.W_OK):
        return
    failed = _FAILED_AT.get(home)
    if failed is not None and time.monotonic() - failed < _RETRY_FAILED_S:
        return
    try:
        migrate(instance, home, say)
    except Exception as exc:  # the sensor's own work goes on; Dagster's UI shows the warning
        _FAILED_AT[home] = time.monotonic()
        say(f"datacody: the one-time clean-up of legacy env-build runs failed ({type(exc).__name__}: {exc})")


# Dagster's default storage and its stand-in with the pooled event log (runtime/event_log_storage.py,
# named here, not imported: the instance sits below the runtime).
_DEFAULT_STORAGE = ("dagster._core.storage.sqlite_storage", "DagsterSqliteStorage")
_POOLED_STORAGE = ("datacody_dagster.runtime.event_log_storage", "DatacodySqliteStorage")


def pooled_storage_ref(ref: InstanceRef) -> InstanceRef:
    """``ref`` with the pooled SQLite event log when its dagster.yaml keeps Dagster's default
    storage (the same files; any other storage is left as configured)."""
    data = ref.storage_data
    if data is None or (data.module_name, data.class_name) != _DEFAULT_STORAGE:
        return ref
    from dagster._serdes import ConfigurableClassData

    pooled = ConfigurableClassData(*_POOLED_STORAGE, data.config_yaml)
    return ref._replace(storage_data=pooled)
