"""DuckDB type families, shared by profiling, scaffolding and type checks."""

from __future__ import annotations

INTEGER_TYPES: frozenset[str] = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
FLOAT_TYPES: frozenset[str] = frozenset({"FLOAT", "DOUBLE", "REAL"})
NUMERIC_TYPES: frozenset[str] = INTEGER_TYPES | FLOAT_TYPES
TEMPORAL_TYPES: frozenset[str] = frozenset(
    {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}
)


def is_numeric(duckdb_type: str) -> bool:
    """True for integer, float and DECIMAL(p, s) types."""
    base = duckdb_type.upper().split("(")[0].strip()
    return base in NUMERIC_TYPES or base == "DECIMAL"
