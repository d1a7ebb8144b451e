"""Profile a sample data file with DuckDB: types, row count, nulls, distinct counts, ranges.

The profile stays on this machine: it feeds `datacody scaffold`, never the LLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacody_dagster.engines.duckdb_types import NUMERIC_TYPES, TEMPORAL_TYPES
from datacody_dagster.errors import DatacodyError

NULL_TOKENS = ("NA", "N/A", "NULL", "null", "None", "nan")
_NUMERIC = tuple(NUMERIC_TYPES)
_TEMPORAL = TEMPORAL_TYPES


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str
    nulls: int
    distinct: int
    min: Any = None
    max: Any = None
    values: tuple[Any, ...] | None = None
    """All distinct values when there are few (low-cardinality text)."""

    @property
    def numeric(self) -> bool:
        return self.type.upper().startswith(_NUMERIC) or self.type.upper().startswith("DECIMAL")

    @property
    def temporal(self) -> bool:
        return self.type.upper() in _TEMPORAL

    @property
    def text(self) -> bool:
        return self.type.upper() == "VARCHAR"


@dataclass(frozen=True)
class FileProfile:
    path: Path
    format: str
    rows: int
    columns: tuple[ColumnProfile, ...]
    options: dict[str, Any] = field(default_factory=dict)


def file_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"jsonl": "json", "ndjson": "json", "pq": "parquet", "tsv": "csv", "txt": "csv"}.get(suffix, suffix)
    if fmt not in {"csv", "parquet", "json"}:
        raise DatacodyError(f"cannot profile `{path.name}`: use a csv, parquet or json file")
    return fmt


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader(path: Path, fmt: str, options: dict[str, Any]) -> str:
    opts = "".join(f", {k}={_literal(str(v))}" for k, v in options.items())
    fn = {"csv": "read_csv", "parquet": "read_parquet", "json": "read_json_auto"}[fmt]
    return f"{fn}({_literal(str(path))}{opts})"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _null_token(con: Any, relation: str, columns: list[tuple[str, str]]) -> str | None:
    """The placeholder a CSV writes for missing values (e.g. `NA`), when one is used."""
    text_cols = [c for c, t in columns if t.upper() == "VARCHAR"]
    if not text_cols:
        return None
    for token in NULL_TOKENS:
        hits = " or ".join(f"{_ident(c)} = {_literal(token)}" for c in text_cols)
        if con.execute(f"select count(*) from {relation} where {hits}").fetchone()[0]:
            return token
    return None


def profile_file(path: Path, *, max_values: int = 20) -> FileProfile:
    """Profile ``path`` (csv, parquet or json) in one DuckDB pass per column group."""
    import duckdb

    if not path.is_file():
        raise DatacodyError(f"no such file: {path}")
    fmt = file_format(path)
    con = duckdb.connect()
    try:
        options: dict[str, Any] = {}
        relation = _reader(path, fmt, options)
        columns = [(r[0], r[1]) for r in con.execute(f"describe select * from {relation}").fetchall()]
        if fmt == "csv":
            token = _null_token(con, relation, columns)
            if token:
                options = {"nullstr": token}
                relation = _reader(path, fmt, options)
                columns = [(r[0], r[1]) for r in con.execute(f"describe select * from {relation}").fetchall()]
        aggs = ["count(*)"]
        for name, typ in columns:
            c = _ident(name)
            aggs += [f"count(*) - count({c})", f"count(distinct {c})"]
            orderable = typ.upper() not in {"BOOLEAN"} and not typ.upper().startswith(
                ("STRUCT", "MAP", "LIST")
            )
            aggs += [f"min({c})", f"max({c})"] if orderable and not typ.endswith("[]") else ["null", "null"]
        row = con.execute(f"select {', '.join(aggs)} from {relation}").fetchone()
        assert row is not None
        rows = int(row[0])
        profiles = []
        for i, (name, typ) in enumerate(columns):
            nulls, distinct, lo, hi = row[1 + 4 * i : 5 + 4 * i]
            values = None
            if typ.upper() == "VARCHAR" and 0 < distinct <= max_values:
                values = tuple(
                    v
                    for (v,) in con.execute(
                        f"select distinct {_ident(name)} from {relation} "
                        f"where {_ident(name)} is not null order by 1"
                    ).fetchall()
                )
            profiles.append(ColumnProfile(name, typ, int(nulls), int(distinct), lo, hi, values))
        return FileProfile(path=path, format=fmt, rows=rows, columns=tuple(profiles), options=options)
    except duckdb.Error as exc:
        raise DatacodyError(f"cannot read `{path.name}` with DuckDB: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
