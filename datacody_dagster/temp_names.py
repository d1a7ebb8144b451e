"""The one place that names temporary files and folders beside outputs.

Every writer (atomic writes, folder swaps, write-audit-publish staging, DVC checkouts) takes its
names from here, and recovery (``versioning/recovery.py``) reads them back with :func:`parse`,
so a leftover of a killed writer is always recognised. A name is hidden (leading dot) and ends
in ``.tmp``, so globs over ``*.parquet`` never see it:

``.<name>.<pid>-<token>.<kind>.tmp``  kind: ``tmp`` (a file or folder being written),
``old`` (an output parked during a folder swap), ``stage`` (a candidate awaiting its checks).

dbt writes its candidates to a fixed name, ``.<name>.dbt.stage.tmp`` (no pid: the name is
compiled into the model), which only the process holding the DuckDB writer slot touches.

This module is pure naming (no I/O): it sits below every layer that writes.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

KINDS = ("tmp", "old", "stage")
DBT_STAGE_TOKEN = "dbt"

_NAME = re.compile(
    r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)-)?(?P<token>[A-Za-z0-9_]+)(?:\.(?P<kind>old|stage))?\.tmp$"
)


@dataclass(frozen=True)
class TempName:
    """A parsed temp name: the output it belongs to, its writer's pid (if any), its kind."""

    target: str
    pid: int | None
    kind: str
    token: str

    @property
    def is_dbt_stage(self) -> bool:
        return self.kind == "stage" and self.pid is None and self.token == DBT_STAGE_TOKEN


def temp_name(target: Path, kind: str = "tmp", pid: int | None = None) -> Path:
    """A fresh name beside ``target`` (same folder, so a rename onto ``target`` is atomic)."""
    if kind not in KINDS:
        raise ValueError(f"unknown temp kind {kind!r}")
    owner = os.getpid() if pid is None else pid
    suffix = "" if kind == "tmp" else f".{kind}"
    return target.with_name(f".{target.name}.{owner}-{uuid.uuid4().hex[:12]}{suffix}.tmp")


def dbt_stage_name(target_name: str) -> str:
    """The fixed file name dbt writes a model's candidate to, beside its published output."""
    return f".{target_name}.{DBT_STAGE_TOKEN}.stage.tmp"


def parse(file_name: str) -> TempName | None:
    """What a name made here means, or None for any other name."""
    m = _NAME.match(file_name)
    if m is None:
        return None
    pid = m.group("pid")
    return TempName(
        target=m.group("name"),
        pid=int(pid) if pid is not None else None,
        kind=m.group("kind") or "tmp",
        token=m.group("token"),
    )
