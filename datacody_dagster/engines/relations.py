"""Where an asset's current data is, as DuckDB SQL, and a connection that can read it.

Checks, the runtime, environments and the semantic layer all read outputs through here.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.engines.fork_safe import keep_forever

if TYPE_CHECKING:  # pyarrow costs ~0.5 s to import: keep it off the code-location load path
    import pyarrow as pa


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


DB_ALIAS = "datacody_db"
"""Name under which the project's DuckDB file is attached (read-only) by readers."""


def relation_for(project: CompiledProject, node: Node, path: Path | None = None) -> str:
    """DuckDB SQL reading a node's current data (or, with ``path``, a staged candidate).

    Views live in the project's DuckDB file; partitioned outputs are folders of Parquet; a
    source not loaded into the warehouse yet is read from its raw file.
    """
    if path is not None:
        if path.is_dir():
            return f"read_parquet({sql_string(str(path) + '/**/*.parquet')}, hive_partitioning=true)"
        return f"read_parquet({sql_string(str(path))})"
    if node.is_dbt_view:
        return f'{DB_ALIAS}.main."{node.name}"'
    path = project.output_path(node)
    if node.partition_by or path.is_dir():
        return f"read_parquet({sql_string(str(path) + '/**/*.parquet')}, hive_partitioning=true)"
    if node.is_source and not path.exists():
        from datacody_dagster.emit.dbt import source_read_sql

        return source_read_sql(project, node, str(project.root) + "/")
    return f"read_parquet({sql_string(str(path))})"


_shared: tuple[int, Any] | None = None
_shared_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """The parent's database is never reused nor destroyed in a child (see ``fork_safe``)."""
    global _shared, _shared_lock
    if _shared is not None:
        keep_forever(_shared)
        _shared = None
    _shared_lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)


def _shared_session() -> Any:
    """A new session (cursor) on a process-wide in-memory database: a cursor costs microseconds,
    a new database ~13 ms, once per asset. Sessions share no state the readers set (``set`` is
    session-local) and readers create nothing in the database. DuckDB's external file cache is
    off (its Parquet metadata cache is off by default): a file replaced by a rename (publish,
    checkout) is read afresh."""
    global _shared
    import duckdb

    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():  # never reuse a database across fork
            if _shared is not None:
                keep_forever(_shared)
            con = duckdb.connect(config={"enable_external_file_cache": False})
            _shared = (os.getpid(), con)
        return _shared[1].cursor()


def connect_for_reading(project: CompiledProject, attach: bool = True) -> Any:
    """In-memory DuckDB with the project's database attached read-only (for views).

    ``attach=False`` skips the attachment when only Parquet files are read (it opens the file):
    the connection is then a session on a shared database (select only; close it when done).
    """
    import duckdb

    con = duckdb.connect() if attach else _shared_session()
    # Views created by dbt read files by paths relative to the dbt project (dbt's cwd).
    dbt_dir = project.root / project.settings.dbt_project_dir
    con.execute(f"set file_search_path = {sql_string(str(dbt_dir))}")
    db = project.root / project.settings.duckdb_path
    if attach and db.exists():
        con.execute(f"attach {sql_string(str(db))} as {DB_ALIAS} (read_only)")
    return con


def read_table(project: CompiledProject, node: Node) -> pa.Table:
    con = connect_for_reading(project)
    try:
        return con.sql(f"select * from {relation_for(project, node)}").to_arrow_table()
    finally:
        con.close()
