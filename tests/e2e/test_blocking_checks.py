"""Corrupted source data: exactly the matching checks fail, blocking ones stop downstream and
quarantine the candidate; once it is force-published, CI (`datacody check`) exits 1."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
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
    sql: select id as customer_id, name from raw_customers
    checks:
      - unique: customer_id
  stg_orders:
    sql: select id as order_id, customer_id, status, amount from raw_orders
    checks:
      - unique: order_id
      - not_null: [customer_id]
      - accepted_values: {column: status, values: [placed, shipped, completed]}
      - range: {column: amount, min: 0}
      - relationships: {column: customer_id, to: stg_customers, field: customer_id}
      - {row_count: {min: 1}, severity: warn}
  order_totals:
    sql: |
      select customer_id, count(*) as orders, sum(amount) as revenue
      from stg_orders group by customer_id
    checks:
      - unique: customer_id
"""
CUSTOMERS = "id,name\n1,Ada\n2,Grace\n3,Linus\n"
CLEAN = "id,customer_id,status,amount\n1,1,placed,10\n2,2,shipped,5\n3,3,completed,7\n4,1,placed,1\n"
CORRUPT = (
    "id,customer_id,status,amount\n"
    "1,1,placed,10\n"
    "1,2,shipped,5\n"  # duplicate key
    "3,,completed,7\n"  # null customer
    "4,1,lost,1\n"  # value outside the accepted set
    "5,2,placed,-3\n"  # negative amount
    "6,99,placed,2\n"  # unknown foreign key
)
EXPECTED_FAILURES = {
    "unique_order_id",
    "not_null_customer_id",
    "accepted_values_status",
    "range_amount",
    "relationships_customer_id",
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([datacody_bin(), *args], capture_output=True, text=True)


def test_corrupted_source_fails_exactly_the_matching_checks(tmp_path: Path, dagster_home: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"shop.yaml": SPEC},
        {"data/raw/customers.csv": CUSTOMERS, "data/raw/orders.csv": CLEAN},
    )
    clean = _run("materialize", "-p", str(root))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert _run("check", "-p", str(root)).returncode == 0

    (root / "data/raw/orders.csv").write_text(CORRUPT)
    before = (root / "data/warehouse/shop/order_totals.parquet").stat().st_mtime_ns
    bad = _run("materialize", "-p", str(root))
    out = bad.stdout + bad.stderr
    assert bad.returncode == 1, out
    assert "Traceback" not in out
    for name in EXPECTED_FAILURES:
        assert f"blocking check `{name}` failed on `stg_orders`" in out
    assert "row_count" not in out.split("error")[-1]  # the warn check passes (6 rows)
    # the blocking failures stopped the downstream asset: its output is the clean run's
    assert (root / "data/warehouse/shop/order_totals.parquet").stat().st_mtime_ns == before
    row = next(line for line in bad.stdout.splitlines() if "order_totals" in line)
    assert "skipped" in row
    # write-audit-publish: the failing candidate is quarantined, the published output stays clean
    row = next(line for line in bad.stdout.splitlines() if "stg_orders" in line)
    assert "quarantined" in row
    assert _run("check", "-p", str(root), "--select", "stg_orders").returncode == 0
    forced = _run("quarantine", "publish", "stg_orders", "-p", str(root))
    assert forced.returncode == 0, forced.stdout + forced.stderr

    junit = tmp_path / "checks.xml"
    ci = _run("check", "-p", str(root), "--select", "stg_orders", "--junit-xml", str(junit))
    assert ci.returncode == 1
    for name in EXPECTED_FAILURES:
        assert name in ci.stdout + ci.stderr
    failed = {
        case.get("name", "").split(".")[-1].split(":")[-1]
        for case in ET.parse(junit).getroot().iter("testcase")
        if case.find("failure") is not None
    }
    assert {f for f in failed if any(f.endswith(e) or e in f for e in EXPECTED_FAILURES)}
    assert len(failed) == len(EXPECTED_FAILURES), failed
