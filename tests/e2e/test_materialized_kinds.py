"""`materialized: view` per asset kind: refused where no engine makes a view, kept where dbt does.

A Spark SQL, Python or steps asset with `materialized: view` used to validate, have its Parquet
output written, and then be treated as a view elsewhere (not versioned, not promoted by `apply`,
its checks crashing on a view that does not exist). Now `validate`, `compile` and `materialize`
refuse it at the key with exit 1; a dbt view on DuckDB still materializes as a view (no Parquet,
no DVC version), read by a Python asset, beside Python and steps tables that are versioned.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import datacody_bin, write_project

REFUSED = """\
engine: spark
sources:
  raw_items:
    path: data/raw/items.csv
assets:
  spark_view:
    materialized: view
    sql: select id, price from raw_items
  py_view:
    python: shop_tx:double
    deps: [raw_items]
    materialized: view
  steps_view:
    from: raw_items
    materialized: view
    steps:
      - filter: "price > 1"
"""
PYTHON = """\
import pyarrow as pa
import pyarrow.compute as pc


def double(raw_items):
    return pa.table({"id": raw_items["id"], "twice": pc.multiply(raw_items["price"], 2)})


def double_view(items_view):  # a Python asset reads a dbt view through DuckDB
    return double(items_view)
"""
ITEMS = "id,price\n1,1.0\n2,2.0\n3,3.0\n"


def _dc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([datacody_bin(), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("command", ["validate", "compile", "materialize"])
def test_views_where_no_engine_makes_one_are_refused(tmp_path: Path, command: str) -> None:
    files = {"data/raw/items.csv": ITEMS, "shop_tx.py": PYTHON}
    write_project(tmp_path, {"shop.yaml": REFUSED}, files, dvc=False)
    proc = _dc(command, "--project-dir", str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    flat = " ".join(out.split())  # rich wraps long lines
    assert "asset_specs/shop.yaml:7:5: error DC106: asset `spark_view`" in flat, out
    assert "set by the file's `engine:`" in flat
    assert "asset_specs/shop.yaml:12:5: error DC106: asset `py_view`" in flat
    assert "asset_specs/shop.yaml:15:5: error DC106: asset `steps_view`" in flat
    assert "hint: remove `materialized: view`" in flat
    assert not (tmp_path / "dbt_project").exists() and not (tmp_path / "data" / "warehouse").exists()


ALLOWED = """\
group: shop
sources:
  raw_items:
    path: data/raw/items.csv
assets:
  items_view:
    materialized: view
    sql: select id, price from raw_items
    checks:
      - not_null: [id]
      - unique: id
  doubled:
    python: shop_tx:double_view
    deps: [items_view]
    checks:
      - not_null: [id]
  pricey:
    from: raw_items
    steps:
      - filter: "price > 1"
    checks:
      - {row_count: {min: 1}}
"""


@pytest.mark.slow
def test_dbt_view_stays_a_view_and_tables_beside_it_are_versioned(tmp_path: Path, dagster_home: Path) -> None:
    root = tmp_path / "proj"
    files = {"data/raw/items.csv": ITEMS, "shop_tx.py": PYTHON}
    write_project(root, {"shop.yaml": ALLOWED}, files)
    p = ("--project-dir", str(root))
    assert _dc("validate", *p).returncode == 0
    # Checks of a view before its database exists: each check errors, no traceback.
    early = _dc("check", *p, "--select", "items_view")
    assert early.returncode == 1 and "Traceback" not in early.stdout + early.stderr, early.stderr
    assert "cannot read" in " ".join((early.stdout + early.stderr).split())

    run = _dc("materialize", *p)
    assert run.returncode == 0, run.stdout + run.stderr
    shop = root / "data" / "warehouse" / "shop"
    assert not (shop / "items_view.parquet").exists()  # dbt made a view in the DuckDB file
    for table in ("doubled", "pricey"):
        assert (shop / f"{table}.parquet.dvc").is_file(), table
        history = json.loads(_dc("history", table, *p, "--json").stdout)
        assert [h["version"] for h in history] == [1]
    assert json.loads(_dc("history", "pricey", *p, "--json").stdout)[0]["row_count"] == 2
    view_history = _dc("history", "items_view", *p)
    assert view_history.returncode == 1 and "is a view" in view_history.stdout + view_history.stderr

    checked = _dc("check", *p)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(" pass ") == 4, checked.stdout  # the view's two, from its DuckDB file
