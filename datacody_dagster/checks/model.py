"""Data passed between the runtime and the check evaluators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacody_dagster.compiler.checks import PlannedCheck


@dataclass(frozen=True)
class CheckTarget:
    """What a set of checks runs against: one asset's current output."""

    asset: str
    relation: str
    """DuckDB SQL reading the data, e.g. ``read_parquet('/abs/path.parquet')``."""
    parquet_path: Path | None = None
    """The single Parquet file, when there is one (footer statistics are read from it)."""
    data_version: str | None = None
    """Content hash of the data (the DVC md5) used to skip re-checking unchanged data."""
    resolve: Callable[[str], str] | None = None
    """Relation SQL of another asset (for `relationships`)."""
    duckdb_database: Path | None = None
    """DuckDB file to attach read-only when the relation is a view in it."""
    resolve_version: Callable[[str], str | None] | None = None
    """Data version of another asset (lets `relationships` results be cached)."""
    run_id: str | None = None
    """The Dagster run that produced the data; its own materialization is not a baseline."""
    search_path: Path | None = None
    sandbox: tuple[Path, ...] | None = None
    """Folders check SQL may read (engines/sandbox.py); None: unconfined (the project opted out)."""
    proven_unique_keys: tuple[tuple[str, ...], ...] = ()
    """Column tuples the asset's SQL makes unique by construction (no scan needed)."""
    proven_not_null: tuple[str, ...] = ()
    """Columns the asset's SQL makes non-null by construction (no scan needed)."""
    materialized_at: float | None = None
    """When the data was produced (default: now); its weekday picks seasonal baselines."""
    """Directory relative paths inside view definitions resolve against (the dbt project)."""


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one check on one target."""

    check: PlannedCheck
    passed: bool
    failing_rows: int = 0
    total_rows: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)
    query: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    reused: bool = False
    """True when the result was carried over from an earlier evaluation of unchanged data."""
    error: str | None = None
    """Set when the check could not be evaluated (treated as failed)."""

    @property
    def failing_fraction(self) -> float:
        return self.failing_rows / self.total_rows if self.total_rows else 0.0
