"""Outcomes of earlier evaluations, keyed by (data version, check definition).

A small SQLite file (concurrent runs may share it; SQLite serializes the writers). Only pure
checks are cached: their verdict is a function of the data and the check alone.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.compiler.checks import PlannedCheck

CACHE_RELPATH = "data/.datacody/check_cache.sqlite"
# Results that depend on the clock, on history or on other tables are never reused
# (the registry's `cacheable: False` kinds).
_SCHEMA_VERSION = "1"


def check_definition_hash(check: PlannedCheck) -> str:
    """Hash of everything that defines a check's verdict (not its description)."""
    text = json.dumps(
        [_SCHEMA_VERSION, check.asset, check.name, check.kind, check.arg_dict], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cache_key(check: PlannedCheck, data_version: str, extra: str = "") -> str:
    return hashlib.sha256(f"{data_version}|{extra}|{check_definition_hash(check)}".encode()).hexdigest()


class ResultCache:
    """Persistent map from cache keys to serialized outcomes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._con: sqlite3.Connection | None = None

    @classmethod
    def for_project(cls, root: Path) -> ResultCache:
        """The cache file of a project (under ``data/.datacody``)."""
        return cls(Path(root) / CACHE_RELPATH)

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30)
            con.execute(
                "create table if not exists outcomes"
                " (key text primary key, outcome text not null, created real)"
            )
            self._con = con
        return self._con

    def get(self, key: str, check: PlannedCheck) -> CheckOutcome | None:
        """The stored outcome for ``key``, marked ``reused``; None on a miss."""
        return self.get_many({key: check}).get(key)

    def get_many(self, wanted: dict[str, PlannedCheck]) -> dict[str, CheckOutcome]:
        """The stored outcomes of several keys in one query (a re-check is mostly this lookup)."""
        if not wanted or not self.path.exists():
            return {}
        found: dict[str, CheckOutcome] = {}
        keys = list(wanted)
        con = self._connect()
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = con.execute(f"select key, outcome from outcomes where key in ({marks})", chunk).fetchall()
            found.update({key: _outcome(wanted[key], text) for key, text in rows})
        return found

    def put(self, key: str, outcome: CheckOutcome) -> None:
        """Store an outcome (errors are never stored: the next run tries again)."""
        if outcome.error is not None:
            return
        data = {
            "passed": outcome.passed,
            "failing_rows": outcome.failing_rows,
            "total_rows": outcome.total_rows,
            "sample": outcome.sample,
            "query": outcome.query,
            "metadata": outcome.metadata,
            "created": time.time(),
        }
        con = self._connect()
        with con:
            con.execute(
                "insert or replace into outcomes values (?, ?, ?)",
                (key, json.dumps(data, default=str), data["created"]),
            )

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _outcome(check: PlannedCheck, text: str) -> CheckOutcome:
    data = json.loads(text)
    return CheckOutcome(
        check=check,
        passed=data["passed"],
        failing_rows=data["failing_rows"],
        total_rows=data["total_rows"],
        sample=data["sample"],
        query=data["query"],
        metadata={**data["metadata"], "reused_from": data.get("created")},
        reused=True,
    )


def mark_fresh(outcome: CheckOutcome, **metadata: Any) -> CheckOutcome:
    return replace(outcome, metadata={**outcome.metadata, **metadata})
