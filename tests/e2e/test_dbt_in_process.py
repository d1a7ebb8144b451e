"""dbt runs in this process: parsed once, no subprocess, blocking checks still gate, errors located."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_project

pytestmark = pytest.mark.slow

SPEC = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
assets:
  stg_orders:
    sql: select id as order_id, amount from raw_orders
    checks:
      - unique: order_id
  order_totals:
    sql: select count(*) as orders, sum(amount) as revenue from stg_orders
"""
CLEAN = "id,amount\n1,10\n2,5\n"
DUPLICATE = "id,amount\n1,10\n1,5\n"

BROKEN = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
assets:
  bad:
    sql: |
      select id,
        no_such_function(amount) as x
      from raw_orders
"""


@pytest.fixture
def no_dbt_subprocess(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every command started while the test runs; a `dbt` one fails the test."""
    started: list[list[str]] = []
    real = subprocess.Popen.__init__

    def spy(self: Any, args: Any, *a: Any, **kw: Any) -> None:
        argv = [str(x) for x in (args if isinstance(args, (list, tuple)) else [args])]
        started.append(argv)
        assert not any(Path(x).name == "dbt" for x in argv), f"dbt started as a process: {argv}"
        real(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    return started


def test_blocking_failure_stops_downstream_in_one_dbt_start(
    tmp_path: Path, dagster_home: Path, no_dbt_subprocess: list[list[str]]
) -> None:
    from datacody_dagster.runtime import dbt_runner
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    parses, invocations = dbt_runner.STATS.parses, dbt_runner.STATS.invocations
    clean = materialize_project(root)
    assert clean.success, clean.errors
    # the gate of stg_orders' blocking check splits the models in two invocations, one parse
    assert dbt_runner.STATS.parses - parses == 1
    assert dbt_runner.STATS.invocations - invocations == 2

    (root / "data/raw/orders.csv").write_text(DUPLICATE)
    before = (root / "data/warehouse/shop/order_totals.parquet").read_bytes()
    parses = dbt_runner.STATS.parses
    bad = materialize_project(root)
    statuses = {r.asset: r.status for r in bad.rows}
    # write-audit-publish: the failing candidate is quarantined, the published stg_orders stays
    assert statuses == {"raw_orders": "materialized", "stg_orders": "quarantined", "order_totals": "skipped"}
    assert "blocking check `unique_order_id` failed on `stg_orders`" in bad.errors
    assert (root / "data/warehouse/shop/order_totals.parquet").read_bytes() == before
    assert dbt_runner.STATS.parses == parses  # same dbt files: the parsed manifest is reused


def test_dbt_error_carries_the_spec_location(tmp_path: Path, dagster_home: Path) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(tmp_path / "p", {"shop.yaml": BROKEN}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    summary = materialize_project(root)
    assert not summary.success
    text = "\n".join(summary.errors)
    # line 8, column 9 of the spec: where `no_such_function` is written
    assert "asset_specs/shop.yaml:8:9: dbt error in `bad`" in text, text
    assert "no_such_function does not exist" in text
    assert "\x1b[" not in text and "Traceback" not in text


PARTLY_BROKEN = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
assets:
  stg_orders:
    sql: select id as order_id, amount from raw_orders
  order_totals:
    sql: select count(*) as orders, sum(amount) as revenue from stg_orders
  bad:
    sql: select no_such_function(amount) as x from raw_orders
"""


def test_a_failed_model_leaves_the_batch_s_other_outputs_versioned_and_held(
    tmp_path: Path, dagster_home: Path
) -> None:
    from datacody_dagster.runtime.materialize import materialize_project
    from datacody_dagster.versioning.env_state import PROD, load_state
    from tests.versioning.helpers import assert_dvc_clean, md5_of

    files = {"data/raw/orders.csv": CLEAN}
    root = write_project(tmp_path / "p", {"shop.yaml": PARTLY_BROKEN}, files, dvc=True)
    summary = materialize_project(root)
    statuses = {r.asset: r.status for r in summary.rows}
    assert not summary.success and statuses["bad"] != "materialized"
    assert any("no_such_function" in e for e in summary.errors)
    assert statuses["stg_orders"] == statuses["order_totals"] == "materialized"
    state = load_state(root, PROD)
    assert state is not None and "bad" not in state.assets
    for name in ("stg_orders", "order_totals"):  # versioned in one batch, each its own version
        out = root / "data/warehouse/shop" / f"{name}.parquet"
        assert out.with_name(out.name + ".dvc").is_file()
        assert state.assets[name].data_version == md5_of(out)
    assert_dvc_clean(root)
