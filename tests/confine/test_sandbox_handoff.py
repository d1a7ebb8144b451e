"""The dbt worker's sandbox folders come from its parent: the same walls, and only for that project.

`datacody materialize` hands the folders it computed from the compiled project to the worker's
sandbox plugin (engines/dbt_sandbox.hand_directories, over the worker's pipe), so that the worker
neither imports the compiler nor parses every spec at each connection. Nothing in the environment
(a committed `.env` that `dagster dev` loads) can hand folders. These probes open real DuckDB
connections through the plugin.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from datacody_dagster.compiler import compile_project
from datacody_dagster.engines import dbt_sandbox
from datacody_dagster.engines.dbt_sandbox import Plugin, hand_directories, sandbox_directories
from datacody_dagster.engines.sandbox import project_directories
from tests.conftest import write_project

SPEC = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
  raw_rates: {path: inputs/rates.csv}
assets:
  totals:
    sql: select count(*) as n from raw_orders
"""


def _project(root: Path) -> Path:
    files = {"data/raw/orders.csv": "id\n1\n", "inputs/rates.csv": "r\n1\n"}
    return write_project(root, {"shop.yaml": SPEC}, files, dvc=False)


def _plugin(root: Path) -> Plugin:
    plugin = Plugin.__new__(Plugin)
    plugin.initialize({"project_root": str(root)})
    return plugin


def _reads(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    try:
        con.execute(f"select * from read_csv('{path}')").fetchall()
    except duckdb.PermissionException:
        return False
    return True


def test_the_parent_hands_the_folders_the_plugin_would_compute(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    handed = project_directories(compile_project(root))
    assert handed == sandbox_directories(root.resolve())
    assert (root / "inputs").resolve() in (handed or [])  # a source outside data/ stays readable


@pytest.fixture(autouse=True)
def _nothing_handed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dbt_sandbox, "_HANDED", {})


def test_handed_folders_confine_the_connection(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    secret = tmp_path / "outside.csv"
    secret.write_text("k\nsecret\n", encoding="utf-8")
    hand_directories(root, [(root / "data").resolve()])  # narrower than the project's: it rules
    con = duckdb.connect()
    _plugin(root).configure_connection(con)
    assert _reads(con, root / "data" / "raw" / "orders.csv")
    assert not _reads(con, root / "inputs" / "rates.csv")
    assert not _reads(con, secret)
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")  # locked


def test_folders_handed_for_another_project_are_ignored(tmp_path: Path) -> None:
    root, other = _project(tmp_path / "p"), tmp_path / "other"
    secret = tmp_path / "outside.csv"
    secret.write_text("k\nsecret\n", encoding="utf-8")
    hand_directories(other, None)  # "no confinement" for another root must not open this one
    con = duckdb.connect()
    _plugin(root).configure_connection(con)
    assert _reads(con, root / "inputs" / "rates.csv")  # computed from the specs instead
    assert not _reads(con, secret)


def test_the_environment_cannot_hand_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A committed `.env` (loaded by `dagster dev`) naming the root and "no confinement"."""
    root = _project(tmp_path / "p")
    secret = tmp_path / "outside.csv"
    secret.write_text("k\nsecret\n", encoding="utf-8")
    monkeypatch.setenv("DATACODY_PROJECT_ROOT", str(root))
    monkeypatch.setenv("DATACODY_SANDBOX_DIRECTORIES", json.dumps({"root": str(root), "directories": None}))
    con = duckdb.connect()
    _plugin(root).configure_connection(con)
    assert not _reads(con, secret)
