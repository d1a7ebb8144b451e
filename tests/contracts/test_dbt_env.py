"""The environment variables of ours that dbt reads are exactly the ones a dbt worker is handed."""

from __future__ import annotations

import re
from pathlib import Path

from datacody_dagster.compiler import compile_project
from datacody_dagster.emit.files import sync_generated_files
from datacody_dagster.runtime.dbt_runner import DATACODY_DBT_ENV, is_dbt_env
from datacody_dagster.runtime.staging import DBT_STAGE_ENV
from tests.conftest import write_project

SPEC = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
assets:
  stg_orders:
    sql: select id as order_id from raw_orders
    checks:
      - unique: order_id
  order_view:
    materialized: view
    sql: select * from stg_orders
"""


def test_every_env_var_of_ours_in_the_generated_dbt_project_is_handed(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": "id\n1\n"}, dvc=False)
    sync_generated_files(compile_project(root))
    read = set()
    for path in (root / "dbt_project").rglob("*"):
        if path.is_file() and path.suffix in {".sql", ".yml", ".yaml"}:
            read |= set(re.findall(r"env_var\(\s*['\"](DATACODY_[A-Z_]+)", path.read_text(encoding="utf-8")))
    assert read, "the generated project reads none of our variables: the probe is broken"
    assert read <= DATACODY_DBT_ENV, read - DATACODY_DBT_ENV
    assert DBT_STAGE_ENV in DATACODY_DBT_ENV


def test_lock_and_switch_variables_are_not_dbts() -> None:
    assert is_dbt_env("DBT_PROFILES_DIR") and is_dbt_env("DATACODY_DUCKDB_PATH")
    assert not is_dbt_env("DATACODY_SHARED_LOCKS") and not is_dbt_env("DATACODY_DBT_WORKER")
