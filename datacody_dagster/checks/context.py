"""What every evaluator of one target shares: the DuckDB connection, the footer, the schema."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb

from datacody_dagster.checks.footer import FooterStats, read_footer
from datacody_dagster.checks.model import CheckTarget
from datacody_dagster.checks.sqltext import ident
from datacody_dagster.engines.fork_safe import keep_forever
from datacody_dagster.engines.relations import DB_ALIAS
from datacody_dagster.engines.sandbox import confine, confined_connection
from datacody_dagster.errors import DatacodyError, Diagnostic

SAMPLE_SIZE = 5
SAMPLE_COLUMNS = 12
_LOCK_WAIT_S = 10.0


_shared: dict[tuple[Path, ...] | None, tuple[int, duckdb.DuckDBPyConnection]] = {}
_shared_lock = threading.Lock()


def _in_memory(sandbox: tuple[Path, ...] | None) -> duckdb.DuckDBPyConnection:
    """A new session on a process-wide in-memory database (a cursor costs microseconds, a new
    database tens of milliseconds, which dominates checks on small tables). Sessions share no
    state the checks set: ``set`` is session-local and nothing is created in the database.
    One database per sandbox: its confinement is locked for the database's life."""
    with _shared_lock:
        shared = _shared.get(sandbox)
        if shared is None or shared[0] != os.getpid():  # never reuse a database across fork
            if shared is not None:
                keep_forever(shared)
            shared = (os.getpid(), confined_connection(sandbox))
            _shared[sandbox] = shared
        return shared[1].cursor()


def connect(target: CheckTarget, attach_db: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory connection; the project database is attached read-only as ``datacody_db``.

    With an attachment the database is private to this evaluation (closing it releases the file,
    which a writer may be waiting for); without one it is a session on a shared database."""
    attach_wanted = attach_db and target.duckdb_database is not None and target.duckdb_database.exists()
    con = confined_connection(None) if attach_wanted else _in_memory(target.sandbox)
    if target.search_path is not None and attach_wanted:
        # Only the attached database's views read relative paths; the shared session is locked.
        con.execute(f"set file_search_path = {_quote(str(target.search_path))}")
    if attach_wanted:
        assert target.duckdb_database is not None
        deadline = time.monotonic() + _LOCK_WAIT_S
        attach = f"attach {_quote(str(target.duckdb_database))} as {DB_ALIAS} (read_only)"
        while True:
            try:
                con.execute(attach)
                break
            except duckdb.IOException as exc:
                # A writer (dbt) holds the file; it releases it when its model is done.
                if time.monotonic() > deadline:
                    raise DatacodyError(
                        Diagnostic(
                            "DC300",
                            f"cannot open {target.duckdb_database} to check {target.asset}: {exc}",
                            hint="another process is writing the database; retry when it is done",
                        )
                    ) from None
                time.sleep(0.2)
    if attach_wanted and target.sandbox is not None:
        directories = list(target.sandbox)
        if target.search_path is not None:
            # Views created by dbt read `../data/...` relative to the dbt project; DuckDB checks
            # a relative path by its text, so the same folders are allowed in that form too.
            directories += [Path(os.path.relpath(d, target.search_path)) for d in target.sandbox]
        confine(con, directories)  # after the SET and ATTACH above, which it forbids
    return con


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_safe(value: Any) -> Any:
    """A sample value as JSON data (dates and decimals as text, bytes as hex)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time, dt.timedelta, decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)[:32].hex()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


@dataclass
class EvalContext:
    """Lazily computed facts about one target, shared by all its checks."""

    target: CheckTarget
    con: duckdb.DuckDBPyConnection
    _row_count: int | None = field(default=None, repr=False)

    @cached_property
    def footer(self) -> FooterStats | None:
        path = self.target.parquet_path
        return read_footer(path) if path is not None and path.is_file() else None

    @cached_property
    def schema(self) -> dict[str, str]:
        """Column name -> DuckDB type name, in table order."""
        rows = self.con.execute(f"describe select * from {self.target.relation}").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    @property
    def row_count(self) -> int:
        if self._row_count is None:
            if self.footer is not None:
                self._row_count = self.footer.num_rows
            else:
                row = self.con.execute(f"select count(*) from {self.target.relation}").fetchone()
                self._row_count = int(row[0]) if row else 0
        return self._row_count

    def set_row_count(self, n: int) -> None:
        self._row_count = n

    def sample(self, query: str, first: list[str] | None = None) -> list[dict[str, Any]]:
        """Up to five rows of ``query`` as JSON-safe dicts, the checked columns first."""
        cur = self.con.execute(f"select * from ({query}) limit {SAMPLE_SIZE}")
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
        order = [n for n in (first or []) if n in names] + [n for n in names if n not in (first or [])]
        keep = order[:SAMPLE_COLUMNS]
        return [{n: json_safe(row[names.index(n)]) for n in keep} for row in rows]

    def is_integer(self, column: str) -> bool:
        typ = self.schema.get(column, "").upper()
        return typ in {
            "TINYINT",
            "SMALLINT",
            "INTEGER",
            "BIGINT",
            "UTINYINT",
            "USMALLINT",
            "UINTEGER",
            "UBIGINT",
        }

    def column_sql(self, column: str) -> str:
        return ident(column)
