"""The Dagster instance the CLI and the code location share.

``DAGSTER_HOME`` wins when set; otherwise the project keeps its instance (SQLite storage) in
``<project>/.dagster_home`` so that `datacody materialize`, `history` and `dagster dev`
(started with DAGSTER_HOME pointing there, as the README shows) see the same event log.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterInstance

DAGSTER_YAML = """\
# Dagster instance of this project (SQLite event log, local compute logs).
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # One writer per DuckDB file across runs (the dbt step sits in the datacody_duckdb pool).
    default_limit: 1
"""


def project_dagster_home(root: Path) -> Path:
    env = os.environ.get("DAGSTER_HOME")
    if env:
        return Path(env)
    home = root / ".dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML, encoding="utf-8")
    return home


def project_instance(root: Path) -> DagsterInstance:
    """A persistent instance for the project (never an ephemeral one: history must survive)."""
    home = project_dagster_home(root)
    os.environ.setdefault("DAGSTER_HOME", str(home))
    return DagsterInstance.from_config(str(home))
