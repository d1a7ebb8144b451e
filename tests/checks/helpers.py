"""Small builders for check tests: Parquet files written by DuckDB, planned checks from YAML-like dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from datacody_dagster.checks.model import CheckTarget
from datacody_dagster.compiler.checks import PlannedCheck, plan_checks
from datacody_dagster.spec import CheckEntry


def write_parquet(path: Path, select_sql: str, row_group_size: int = 100_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"copy ({select_sql}) to '{path}' (format parquet, row_group_size {row_group_size})")
    con.close()
    return path


def checks(asset: str, *entries: Any) -> list[PlannedCheck]:
    """Planned checks from spec-style entries, e.g. ``{"not_null": ["a"]}``."""
    return plan_checks(asset, [(CheckEntry.model_validate(e), None, None) for e in entries])


def target(path: Path, asset: str = "t", **kw: Any) -> CheckTarget:
    return CheckTarget(asset=asset, relation=f"read_parquet('{path}')", parquet_path=path, **kw)


def scan_target(path: Path, asset: str = "t", **kw: Any) -> CheckTarget:
    """The same data without footer access: forces every check to scan."""
    return CheckTarget(asset=asset, relation=f"read_parquet('{path}')", parquet_path=None, **kw)
