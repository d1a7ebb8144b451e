"""No work redone: unchanged assets are skipped; changed inputs, SQL or outputs rebuild exactly downstream.

Runs in-process (one dbt import for the whole file; repeated dbt invocations in one process are
part of what is tested), against real DuckDB files, real dbt runs, a real DVC repo and Dagster's
SQLite instance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import datacody_bin, write_project

pytestmark = pytest.mark.slow

SPEC = """\
group: shop
sources:
  raw_customers: {path: data/raw/customers.csv}
  raw_orders: {path: data/raw/orders.csv}
assets:
  stg_customers:
    materialized: view
    sql: select id as customer_id, name from raw_customers
  stg_orders:
    sql: select id as order_id, customer_id, amount from raw_orders
    checks:
      - unique: order_id
  customer_totals:
    sql: |
      select c.customer_id, c.name, coalesce(sum(o.amount), 0) as revenue
      from stg_customers c left join stg_orders o on o.customer_id = c.customer_id
      group by c.customer_id, c.name
    checks:
      - not_null: [customer_id]
"""
CUSTOMERS = "id,name\n1,Ada\n2,Grace\n"
ORDERS = "id,customer_id,amount\n1,1,10\n2,2,5\n"
ALL = ["raw_customers", "raw_orders", "stg_customers", "stg_orders", "customer_totals"]


def _statuses(root: Path, **kwargs: object) -> dict[str, str]:
    from datacody_dagster.runtime.materialize import materialize_project

    summary = materialize_project(root, **kwargs)  # type: ignore[arg-type]
    assert summary.success, summary.errors
    return {r.asset: r.status for r in summary.rows}


def _rebuilt(statuses: dict[str, str]) -> set[str]:
    return {name for name, status in statuses.items() if status == "materialized"}


def _materialization_count(root: Path) -> int:
    import dagster as dg

    from datacody_dagster.instance import project_instance

    instance = project_instance(root)
    return sum(len(instance.fetch_materializations(dg.AssetKey([n]), limit=1000).records) for n in ALL)


def _dagster_stale(root: Path) -> set[str]:
    """Assets the Dagster UI shows as stale (what "Materialize changed and missing" picks)."""
    import dagster as dg
    from dagster._core.definitions.data_version import StaleStatus
    from dagster._utils.test.data_versions import get_stale_status_resolver

    from datacody_dagster.definitions import build_definitions
    from datacody_dagster.instance import project_instance

    assets = list(build_definitions(root).assets or [])
    resolver = get_stale_status_resolver(project_instance(root), assets)  # type: ignore[arg-type]
    return {n for n in ALL if resolver.get_status(dg.AssetKey([n])) != StaleStatus.FRESH}


def test_skips_unchanged_and_rebuilds_exactly_what_changed(tmp_path: Path, dagster_home: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"shop.yaml": SPEC},
        {"data/raw/customers.csv": CUSTOMERS, "data/raw/orders.csv": ORDERS},
    )
    assert _rebuilt(_statuses(root)) == set(ALL)
    recorded = _materialization_count(root)

    # nothing changed: every asset is up to date and nothing new is recorded
    assert _statuses(root) == dict.fromkeys(ALL, "up to date")
    assert _materialization_count(root) == recorded

    # a source's bytes change, same size, and its mtime is put back: only the content hash can tell
    orders = root / "data/raw/orders.csv"
    before = orders.stat()
    orders.write_text(ORDERS.replace("10", "90"))
    os.utime(orders, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert orders.stat().st_size == before.st_size
    assert _rebuilt(_statuses(root)) == {"raw_orders", "stg_orders", "customer_totals"}

    # touched but identical bytes: still up to date
    os.utime(root / "data/raw/customers.csv")
    assert _rebuilt(_statuses(root)) == set()

    # one asset's SQL edited: it and its downstream
    spec = root / "asset_specs/shop.yaml"
    spec.write_text(
        spec.read_text().replace(
            "select id as customer_id, name", "select id as customer_id, upper(name) as name"
        )
    )
    # the UI reads the same versions: it marks the edited asset stale (Dagster marks the
    # downstream once the new data version exists; the CLI rebuilds both in one run)
    assert _dagster_stale(root) == {"stg_customers"}
    assert _rebuilt(_statuses(root)) == {"stg_customers", "customer_totals"}
    assert _dagster_stale(root) == set()

    # a check changed: the asset is rebuilt so that the check is evaluated, downstream too
    spec.write_text(
        spec.read_text().replace("- unique: order_id", "- unique: order_id\n      - not_null: [amount]")
    )
    assert _rebuilt(_statuses(root)) == {"stg_orders", "customer_totals"}

    # an output deleted by hand: that asset alone
    (root / "data/warehouse/shop/customer_totals.parquet").unlink()
    assert _rebuilt(_statuses(root)) == {"customer_totals"}

    # --force rebuilds the selection
    assert _rebuilt(_statuses(root, select="stg_orders+", force=True)) == {"stg_orders", "customer_totals"}
    assert _statuses(root) == dict.fromkeys(ALL, "up to date")


def test_cli_says_up_to_date(tmp_path: Path, dagster_home: Path) -> None:
    import dagster as dg

    root = write_project(
        tmp_path / "p",
        {"shop.yaml": SPEC},
        {"data/raw/customers.csv": CUSTOMERS, "data/raw/orders.csv": ORDERS},
    )
    first = subprocess.run([datacody_bin(), "materialize", "-p", str(root)], capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    runs_before = dg.DagsterInstance.from_config(str(dagster_home)).get_runs_count()
    # the rerun is decided without importing Dagster, dbt or DVC, and creates no run
    probe = (
        "import sys\n"
        "from datacody_dagster.cli.main import app\n"
        "try:\n"
        "    app(['materialize', '-p', sys.argv[1]])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = sorted(m for m in ('dagster', 'dbt', 'dvc') if m in sys.modules)\n"
        "print('exit', code, 'heavy', heavy)\n"
    )
    again = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "exit 0 heavy []" in again.stdout, again.stdout + again.stderr
    assert dg.DagsterInstance.from_config(str(dagster_home)).get_runs_count() == runs_before
    for name in ALL:
        row = next(line for line in again.stdout.splitlines() if f" {name} " in line)
        assert "up to date" in row, again.stdout
    assert "0 assets materialized, 5 up to date" in again.stdout
