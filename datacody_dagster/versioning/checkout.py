"""Restore an earlier version of an asset's output and record that in the Dagster instance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datacody_dagster.config import DvcSettings
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.cache import missing_objects, restore
from datacody_dagster.versioning.dvcrepo import ensure_dvc_repo
from datacody_dagster.versioning.history import VersionEntry, record_checkout
from datacody_dagster.versioning.model import RecordedVersion
from datacody_dagster.versioning.recording import record_output
from datacody_dagster.versioning.remote import fetch_versions

if TYPE_CHECKING:
    import dagster as dg


def checkout_version(
    root: Path,
    settings: DvcSettings,
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    output: Path,
    entry: VersionEntry,
) -> RecordedVersion:
    """Put ``entry``'s bytes at ``output`` (from the cache, else the remote), atomically; update
    the ``.dvc`` file; add a materialization event so history and the UI show it as current.

    The version that was current stays in the cache and in history.
    """
    ensure_dvc_repo(root, settings)
    if missing_objects(root, entry.hash):
        if not settings.remote:
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"version {entry.version} ({entry.hash}) is not in the local DVC cache",
                    hint="set dvc.remote in resources/<env>.yaml to fetch it from the remote",
                )
            )
        fetch_versions(root, settings, [entry.hash])
    restore(root, entry.hash, output)
    recorded = record_output(root, output, settings)
    if recorded.md5 != entry.hash:
        raise DatacodyError(
            Diagnostic(RUNTIME, f"restored {output} hashes to {recorded.md5}, expected {entry.hash}")
        )
    record_checkout(instance, key, entry, recorded)
    return recorded
