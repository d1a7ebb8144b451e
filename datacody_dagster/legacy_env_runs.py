"""One-time removal of environment builds recorded on prod's asset keys (before ``env/NAME/<asset>``).

Before environment builds had their own keys, a `plan --env NAME` run (tagged ``datacody/env``)
recorded its materializations and check evaluations on prod's keys, and readers filtered them
out. The filters are gone, so those runs would now count as prod's in history, verdicts, check
baselines and optimizer signals. The first time a project's instance is opened they are deleted
(``instance.delete_run``: the run and its events, plus its rows in Dagster's check-execution
index, which ``delete_run`` leaves behind). New-style env runs (their events on ``env/...`` keys)
are kept. An environment whose build went this way is refused by `apply` until it is re-planned.

"Done" lives in the instance's own storage (a key in Dagster's key-value table on the run
storage), so several homes on one Postgres/MySQL database migrate it once; a marker file in each
home caches it, so every later opening costs one ``stat``. The storage key is written only after
the whole pass, so an interrupted pass is resumed (and its deleted runs' latests re-pointed).
The CLI runs it when it opens the instance (``instance.project_instance``); the code location
when Dagster loads it against an instance (``instance.migrate_served_instance``), and the
optimizer sensor on the instance it is evaluated against, so `dagster dev`, the daemon and
sensors never read legacy env builds as prod's either.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacody_dagster.run_markers import ENV_KEY_PREFIX, ENV_TAG

if TYPE_CHECKING:
    from dagster import DagsterInstance

MARKER = "datacody-env-keys-migrated"
"""File in the instance's home: a cache of the storage key below (same content)."""

STORAGE_KEY = "datacody/env-keys-migrated"
"""Key in the instance's key-value store: the migration ran (its value says what it removed)."""


@dataclass(frozen=True)
class Migrated:
    """What the migration removed: run ids per environment name."""

    runs: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        total = sum(len(ids) for ids in self.runs.values())
        runs = f"{total} environment build run{'s' * (total != 1)}"
        envs = ", ".join(f"`{env}` ({len(ids)})" for env, ids in sorted(self.runs.items()))
        replans = ", ".join(f"`datacody plan --env {env}`" for env in sorted(self.runs))
        return (
            f"datacody: removed {runs} recorded on prod's asset keys by an older datacody (env {envs}); "
            "prod's history, check baselines and optimizer signals no longer count them. Re-plan "
            f"before applying: {replans}"
        )


def _on_prod_keys(instance: DagsterInstance, run_id: str) -> bool:
    """Whether run ``run_id`` recorded an asset event on a key that is no environment's."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    }
    # one query for the three kinds: on SQLite each query opens the run's own event database,
    # which is most of the first pass's cost per run
    for rec in instance.get_records_for_run(run_id, of_type=kinds, limit=1_000_000).records:
        event = rec.event_log_entry.dagster_event
        if event is None:
            continue
        # a check evaluation's data is the evaluation itself; the others' keys are on the event
        key = getattr(event.event_specific_data, "asset_key", None) or event.asset_key
        if key is not None and key.path[0] != ENV_KEY_PREFIX:
            return True
    return False


def _prod_keys_of(instance: DagsterInstance, run_id: str) -> list[Any]:
    """The prod keys run ``run_id`` materialized."""
    import dagster as dg

    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1_000_000
    )
    keys = {
        r.event_log_entry.dagster_event.asset_key for r in records.records if r.event_log_entry.dagster_event
    }
    return [k for k in keys if k is not None and k.path[0] != ENV_KEY_PREFIX]


def _repoint_latest(instance: DagsterInstance, keys: list[Any]) -> None:
    """Point Dagster's asset index (its cached latest materialization per key, which
    ``delete_run`` leaves on the deleted event) at the latest materialization that remains."""
    storage: Any = instance.event_log_storage
    if not keys or not hasattr(storage, "index_connection"):
        return
    from dagster._core.storage.event_log.schema import AssetKeyTable
    from dagster._serdes import serialize_value

    for key in keys:
        found = instance.fetch_materializations(key, limit=1).records
        latest = found[0] if found else None
        values = {
            "last_materialization": serialize_value(latest) if latest is not None else None,
            "last_run_id": latest.run_id if latest is not None else None,
            "cached_status_data": None,
        }
        with storage.index_connection() as conn:
            conn.execute(
                AssetKeyTable.update().where(AssetKeyTable.c.asset_key == key.to_string()).values(**values)
            )


def legacy_env_runs(
    instance: DagsterInstance, say: Callable[[str], None] | None = None
) -> dict[str, list[str]]:
    """Env-build runs (tagged ``datacody/env``) whose events are on prod's keys, per env name.

    ``say`` is told once, before the scan, how many runs it reads (it reads each one's events)."""
    import dagster as dg

    names = [values for key, values in instance.get_run_tags(tag_keys=[ENV_TAG]) if key == ENV_TAG]
    if not names or not names[0]:
        return {}
    runs = instance.get_runs(dg.RunsFilter(tags={ENV_TAG: sorted(names[0])}))
    if runs and say is not None:
        say(
            f"datacody: one-time clean-up of environment builds an older datacody recorded on prod's "
            f"asset keys: reading the events of {len(runs)} environment build run"
            f"{'s' * (len(runs) != 1)} (later openings skip this)"
        )
    found: dict[str, list[str]] = {}
    for run in runs:
        if _on_prod_keys(instance, run.run_id):
            found.setdefault(run.tags[ENV_TAG], []).append(run.run_id)
    return found


def _orphaned_keys(instance: DagsterInstance) -> list[Any]:
    """Keys whose cached latest materialization names a run that no longer exists.

    A pass interrupted between a ``delete_run`` and the re-pointing leaves such keys; the next
    pass (the marker is written last) finds them here, whatever runs it still has to delete."""
    import dagster as dg

    storage: Any = instance.event_log_storage
    if not hasattr(storage, "index_connection"):
        return []
    from dagster._core.storage.event_log.schema import AssetKeyTable

    with storage.index_connection() as conn:
        rows = conn.execute(
            AssetKeyTable.select().with_only_columns(AssetKeyTable.c.asset_key, AssetKeyTable.c.last_run_id)
        ).fetchall()
    gone: dict[str, bool] = {}
    keys = []
    for asset_key, run_id in rows:
        if not run_id:  # runless events (apply's promotions) name no run
            continue
        if run_id not in gone:
            gone[run_id] = not instance.has_run(run_id)
        if gone[run_id]:
            keys.append(dg.AssetKey.from_db_string(asset_key))
    return [k for k in keys if k is not None]


def _delete_check_rows(instance: DagsterInstance, run_id: str) -> None:
    """Dagster's ``delete_run`` keeps the run's rows in the check-execution index (SQL storages)."""
    storage: Any = instance.event_log_storage
    if not hasattr(storage, "index_connection"):
        return
    has_table = getattr(storage, "has_table", None)
    if has_table is not None and not has_table("asset_check_executions"):  # an older schema
        return
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

    with storage.index_connection() as conn:
        conn.execute(AssetCheckExecutionsTable.delete().where(AssetCheckExecutionsTable.c.run_id == run_id))


def stored_marker(instance: DagsterInstance) -> str | None:
    """The storage's "done" value (what the pass removed), None before the pass ran."""
    try:
        values = instance.daemon_cursor_storage.get_cursor_values({STORAGE_KEY})
    except Exception:  # a storage without the key-value table (an old schema): the file decides
        return None
    return values.get(STORAGE_KEY)


def migrate(
    instance: DagsterInstance, home: Path, say: Callable[[str], None] | None = None
) -> Migrated | None:
    """Remove legacy env-build runs once per instance storage; None when it already ran.

    ``home`` holds the marker file (the storage key's cache) and the lock that serializes the
    processes of one home; ``say`` gets the messages (stderr by default)."""
    import fcntl

    marker = home / MARKER
    if marker.exists():
        return None
    if _cached_from_storage(instance, marker):
        return None
    try:
        lock = open(home / f".{MARKER}.lock", "a+")  # noqa: SIM115 (closed below)
    except OSError:  # a read-only home (dagster.yaml mounted from elsewhere): no marker, no pass
        return None
    with lock:
        # two first commands at once: one migrates and says so, the other says it waits, then
        # finds the marker
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            (say or _stderr)(
                "datacody: waiting for another process to finish the one-time clean-up of "
                f"environment build runs an older datacody recorded on prod's asset keys ({home})"
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if marker.exists() or _cached_from_storage(instance, marker):
                return None
            return _migrate(instance, marker, say)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cached_from_storage(instance: DagsterInstance, marker: Path) -> bool:
    """Whether the storage says the pass ran (another home on the same database did it); if so,
    cache that in this home's marker file."""
    done = stored_marker(instance)
    if done is None:
        return False
    from datacody_dagster.emit.files import atomic_write_text

    with contextlib.suppress(OSError):  # a read-only home: the storage is asked next time (one query)
        atomic_write_text(marker, done)
    return True


def _migrate(instance: DagsterInstance, marker: Path, say: Callable[[str], None] | None) -> Migrated:
    found = legacy_env_runs(instance, say or _stderr)
    keys: set[Any] = set()
    for ids in found.values():
        for run_id in ids:
            keys.update(_prod_keys_of(instance, run_id))
            _delete_check_rows(instance, run_id)
            instance.delete_run(run_id)
    keys.update(_orphaned_keys(instance))
    _repoint_latest(instance, sorted(keys, key=lambda k: k.to_string()))
    done = Migrated(found)
    text = "".join(f"{env} {r}\n" for env, ids in sorted(found.items()) for r in ids)
    # the storage first (the truth other homes read), the file (its cache) last
    with contextlib.suppress(Exception):  # a storage without the key-value table: the file decides
        instance.daemon_cursor_storage.set_cursor_values({STORAGE_KEY: text})
    from datacody_dagster.emit.files import atomic_write_text

    atomic_write_text(marker, text)
    if found:
        (say or _stderr)(done.summary())
    return done


def _stderr(text: str) -> None:
    sys.stderr.write(text + "\n")
