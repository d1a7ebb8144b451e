"""The latest materialization of each asset, read from the instance's SQLite files without Dagster.

Importing Dagster and opening its instance cost about 2 s of CPU; deciding that nothing needs
rebuilding needs only each asset's latest materialization (tags and a few metadata values). This
reads them from the default SQLite storage (``<DAGSTER_HOME>/history/runs/index.db``, the
``asset_keys`` table Dagster itself reads in ``get_latest_materialization_events``), read-only.

It answers only when the answer is certain; otherwise it returns None and the caller takes
Dagster's own path: a ``dagster.yaml`` that configures storage, a run that has not finished
(a live one, or a dead one that recovery must mark failed first), a wiped asset, a record in an
older format, or a metadata value of a kind this reader does not know.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
_STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "local_artifact_storage")
# The field that holds the value, per serialized metadata class (Dagster keeps these storage
# names for backward compatibility; the *MetadataValue names are accepted too).
_VALUE_FIELD = {
    "Int": "value",
    "Float": "value",
    "Bool": "value",
    "Text": "text",
    "Json": "data",
    "Markdown": "md_str",
    "Path": "path",
    "Url": "url",
    "Null": None,
}
# Kinds whose value no up-to-date decision reads: kept as opaque.
_IGNORED = ("TableSchema", "Table", "TableColumnLineage", "Notebook", "Timestamp", "CodeLocation")


class UnknownFormat(Exception):
    """The stored record is not in the shape this reader knows: use Dagster's own reader."""


@dataclass(frozen=True)
class StoredMaterialization:
    """What the up-to-date decision reads of one materialization (Dagster's attribute names)."""

    tags: Mapping[str, str]
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class StoredEntry:
    """Stands in for Dagster's ``EventLogEntry`` (``entry.asset_materialization``)."""

    asset_materialization: StoredMaterialization
    run_id: str = ""
    timestamp: float = 0.0


def _metadata_value(label: str, data: Any) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get("__class__"), str):
        raise UnknownFormat(f"metadata `{label}`")
    cls = data["__class__"].removesuffix("MetadataEntryData").removesuffix("MetadataValue")
    if cls in _VALUE_FIELD:
        key = _VALUE_FIELD[cls]
        if key is not None and key not in data:
            raise UnknownFormat(f"metadata `{label}` of kind {cls}")
        return None if key is None else data[key]
    if cls in _IGNORED:
        return data
    raise UnknownFormat(f"metadata `{label}` of kind {cls}")


def _metadata(materialization: Mapping[str, Any]) -> dict[str, Any]:
    if "metadata_entries" in materialization:
        return {
            e["label"]: _metadata_value(e["label"], e.get("entry_data"))
            for e in materialization["metadata_entries"] or []
        }
    raw = materialization.get("metadata")
    if isinstance(raw, dict):
        return {label: _metadata_value(label, value) for label, value in raw.items()}
    raise UnknownFormat("materialization without metadata")


def _entry(text: str) -> StoredEntry:
    record = json.loads(text)
    if record.get("__class__") == "EventLogEntry":  # a row of the event_logs table
        record = {"__class__": "EventLogRecord", "event_log_entry": record}
    if record.get("__class__") != "EventLogRecord":
        raise UnknownFormat("not an EventLogRecord")
    entry = record["event_log_entry"]
    event = entry["dagster_event"]
    if event.get("event_type_value") != "ASSET_MATERIALIZATION":
        raise UnknownFormat("not a materialization")
    materialization = event["event_specific_data"]["materialization"]
    if materialization.get("__class__") != "AssetMaterialization" or materialization.get("partition"):
        raise UnknownFormat("not an unpartitioned AssetMaterialization")
    tags = materialization.get("tags") or {}
    return StoredEntry(
        StoredMaterialization(dict(tags), _metadata(materialization)),
        str(entry.get("run_id", "")),
        float(entry.get("timestamp") or 0.0),
    )


def _default_sqlite_storage(home: Path) -> bool:
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        return True
    try:
        data = yaml.safe_load(cfg.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and not any(k in data for k in _STORAGE_KEYS)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)


def latest_materializations(home: Path, names: Iterable[str]) -> dict[str, StoredEntry] | None:
    """``{asset: latest materialization}`` for the given single-part asset names (never
    materialized ones are absent), or None when only Dagster itself can answer (see above).
    Environment builds record on their own keys (``env/NAME/<asset>``), never on these."""
    runs_db, index_db = home / "history" / "runs.db", home / "history" / "runs" / "index.db"
    if not _default_sqlite_storage(home):
        return None
    if not runs_db.exists() or not index_db.exists():
        return {} if not runs_db.exists() and not index_db.exists() else None
    wanted = {json.dumps([n]): n for n in names}
    try:
        with contextlib.closing(_connect(runs_db)) as con:
            marks = ",".join("?" * len(_FINISHED))
            unfinished = con.execute(f"select count(*) from runs where status not in ({marks})", _FINISHED)
            if unfinished.fetchone()[0]:
                return None
        with contextlib.closing(_connect(index_db)) as con:
            rows = con.execute(
                "select asset_key, last_materialization, asset_details, wipe_timestamp from asset_keys"
            ).fetchall()
    except sqlite3.Error:
        return None
    found: dict[str, StoredEntry] = {}
    for key, last, details, wiped in rows:
        name = wanted.get(key)
        if name is None:
            continue
        if details or wiped:
            return None  # a wipe: Dagster filters records older than it
        if not last:
            continue
        try:
            found[name] = _entry(last)
        except (UnknownFormat, KeyError, TypeError, ValueError, AttributeError):
            return None
    return found
