"""Versions of an asset as the Dagster event log knows them, and recording a checkout there.

A version is a materialization event that carries ``datacody/dvc_md5``; versions are numbered
1, 2, ... in the order they happened, so numbers never change as history grows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.model import RecordedVersion

if TYPE_CHECKING:
    import dagster as dg

DVC_MD5 = "datacody/dvc_md5"
DVC_FILE = "datacody/dvc_file"
SIZE = "datacody/size_bytes"
CODE_VERSION = "datacody/code_version"
CHECKOUT_OF = "datacody/checkout_of"
CHECKOUT_OF_HASH = "datacody/checkout_of_hash"
URI = "dagster/uri"
ROW_COUNT = "dagster/row_count"

_MD5 = re.compile(r"^[0-9a-f]{32}(\.dir)?$")
_PAGE = 1000


@dataclass(frozen=True)
class VersionEntry:
    """One recorded version of an asset."""

    version: int
    hash: str
    created_at: datetime
    run_id: str | None
    row_count: int | None
    code_version: str | None
    size: int | None = None
    uri: str | None = None
    checkout_of: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "hash": self.hash,
            "created_at": self.created_at.isoformat(),
            "run_id": self.run_id,
            "row_count": self.row_count,
            "code_version": self.code_version,
            "size": self.size,
            "uri": self.uri,
            "checkout_of": self.checkout_of,
        }


def _value(metadata: Any, key: str) -> Any:
    entry = metadata.get(key)
    return None if entry is None else getattr(entry, "value", entry)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def asset_history(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[VersionEntry]:
    """All versions of ``key``, newest first."""
    from dagster._core.definitions.data_version import CODE_VERSION_TAG, DATA_VERSION_TAG

    entries: list[VersionEntry] = []
    cursor: str | None = None
    while True:
        page = instance.fetch_materializations(key, limit=_PAGE, cursor=cursor, ascending=True)
        for record in page.records:
            mat = record.asset_materialization
            if mat is None:
                continue
            md5 = _value(mat.metadata, DVC_MD5) or (mat.tags or {}).get(DATA_VERSION_TAG)
            if not md5 or not _MD5.match(str(md5)):
                continue
            entries.append(
                VersionEntry(
                    version=len(entries) + 1,
                    hash=str(md5),
                    created_at=datetime.fromtimestamp(record.timestamp, tz=UTC),
                    run_id=record.run_id or None,
                    row_count=_int(_value(mat.metadata, ROW_COUNT)),
                    code_version=_value(mat.metadata, CODE_VERSION) or (mat.tags or {}).get(CODE_VERSION_TAG),
                    size=_int(_value(mat.metadata, SIZE)),
                    uri=_value(mat.metadata, URI),
                    checkout_of=_int(_value(mat.metadata, CHECKOUT_OF)),
                )
            )
        if not page.has_more:
            break
        cursor = page.cursor
    return entries[::-1]


def find_version(history: list[VersionEntry], ref: str, asset: str) -> VersionEntry:
    """A version by number (``3``, ``v3``, ``-1`` = one before current) or by hash prefix."""
    if not history:
        raise DatacodyError(
            Diagnostic(RUNTIME, f"{asset} has no recorded versions yet", hint=f"materialize {asset} first")
        )
    text = ref.strip().lower().removeprefix("v")
    if re.fullmatch(r"-?\d+", text):
        number = int(text)
        if number <= 0:
            number = history[0].version + number
        for entry in history:
            if entry.version == number:
                return entry
    elif len(text) >= 4:
        found = [e for e in history if e.hash.startswith(text)]
        if found:
            return found[0]
    raise DatacodyError(
        Diagnostic(
            RUNTIME,
            f"{asset} has no version {ref!r}",
            hint=f"versions run from 1 to {history[0].version}; see `datacody history {asset}`",
        )
    )


def record_checkout(
    instance: dg.DagsterInstance, key: dg.AssetKey, restored: VersionEntry, recorded: RecordedVersion
) -> None:
    """Report a runless materialization so the UI and `history` show the restored data as current."""
    import dagster as dg
    from dagster._core.definitions.data_version import CODE_VERSION_TAG, DATA_VERSION_TAG

    metadata: dict[str, Any] = {
        DVC_MD5: dg.MetadataValue.text(recorded.md5),
        DVC_FILE: dg.MetadataValue.path(str(recorded.dvc_file)),
        SIZE: dg.MetadataValue.int(recorded.size),
        CHECKOUT_OF: dg.MetadataValue.int(restored.version),
        CHECKOUT_OF_HASH: dg.MetadataValue.text(restored.hash),
        URI: dg.MetadataValue.text(restored.uri or recorded.path.resolve().as_uri()),
    }
    if restored.row_count is not None:
        metadata[ROW_COUNT] = dg.MetadataValue.int(restored.row_count)
    tags = {DATA_VERSION_TAG: recorded.md5}
    if restored.code_version:
        metadata[CODE_VERSION] = dg.MetadataValue.text(restored.code_version)
        tags[CODE_VERSION_TAG] = restored.code_version
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=key,
            description=f"datacody checkout of version {restored.version} ({restored.hash})",
            metadata=metadata,
            tags=tags,
        )
    )
