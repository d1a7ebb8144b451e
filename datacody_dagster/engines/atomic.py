"""Atomic placement of outputs: write beside the target, then rename into place.

A file is replaced with one ``os.replace``. A folder (partitioned output) cannot be replaced
atomically by rename when the target exists, so the old folder is first renamed aside, the new
one renamed in, then the old one deleted: a crash leaves either the old or the new complete
folder in place (plus at most a hidden leftover that recovery puts back or removes), never a
half-written one. Temp names come from :mod:`datacody_dagster.temp_names`, the names recovery reads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacody_dagster.temp_names import temp_name

if TYPE_CHECKING:  # pyarrow costs ~0.5 s to import: keep it off the code-location load path
    import pyarrow as pa


def temp_sibling(path: Path, kind: str = "tmp") -> Path:
    """A fresh hidden name in ``path``'s folder (same filesystem, so renames are atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return temp_name(path, kind)


def remove(path: Path) -> None:
    """Delete a file, symlink or folder; a missing path is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def place(tmp: Path, dest: Path) -> None:
    """Move a finished file or folder ``tmp`` to ``dest`` by rename, replacing what was there."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if tmp.is_file() and not dest.is_dir():
        os.replace(tmp, dest)
        return
    old = None
    if dest.exists() or dest.is_symlink():
        old = temp_sibling(dest, "old")
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        remove(old)


def discard(tmp: Path) -> None:
    """Remove a temp file or folder after a failed write."""
    remove(tmp)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file via a temp file and rename: readers never see half a file."""
    tmp = temp_sibling(path)
    try:
        import pyarrow.parquet as pq

        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_query_to_parquet_atomic(con: Any, query: str, path: Path) -> None:
    """Run ``query`` on a DuckDB connection and store its result atomically at ``path``."""
    tmp = temp_sibling(path)
    try:
        literal = str(tmp).replace("'", "''")
        con.execute(f"copy ({query}) to '{literal}' (format parquet, compression zstd)")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
