"""End to end: materialize through Dagster twice with a source change, then history/diff/checkout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from datacody_dagster.versioning.env_state import PROD, load_state
from tests.conftest import datacody_bin
from tests.versioning.helpers import assert_dvc_clean

pytestmark = pytest.mark.slow

SPEC = """\
group: crm
sources:
  raw_customers:
    path: data/raw/customers.csv
assets:
  customers:
    sql: select id as customer_id, name, country from raw_customers
    checks:
      - unique: customer_id
"""
BEFORE = "id,name,country\n1,Ada,UK\n2,Grace,US\n3,Linus,FI\n"
AFTER = "id,name,country\n1,Ada,UK\n2,Grace,CA\n4,Barbara,US\n"  # 2 changed, 3 removed, 4 added


def _dc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([datacody_bin(), *args], capture_output=True, text=True, timeout=600)


def test_materialize_twice_then_history_diff_checkout(tmp_path: Path, dagster_home: Path) -> None:
    root = tmp_path / "proj"
    assert _dc("init", str(root)).returncode == 0
    (root / "asset_specs" / "crm.yaml").write_text(SPEC)
    raw = root / "data" / "raw" / "customers.csv"
    raw.write_text(BEFORE)
    p = ("--project-dir", str(root))
    first = _dc("materialize", *p, "--select", "group:crm")
    assert first.returncode == 0, first.stdout + first.stderr
    raw.write_text(AFTER)
    second = _dc("materialize", *p, "--select", "group:crm")
    assert second.returncode == 0, second.stdout + second.stderr

    history = json.loads(_dc("history", "customers", *p, "--json").stdout)
    assert [h["version"] for h in history] == [2, 1]
    assert history[0]["hash"] != history[1]["hash"]
    assert all(h["run_id"] and h["row_count"] == 3 and h["code_version"] for h in history)

    # Every materialization leaves prod's environment state (what `datacody plan` compares with).
    prod_state = load_state(root, PROD)
    assert prod_state is not None and prod_state.assets["customers"].data_version == history[0]["hash"]

    diff = json.loads(_dc("diff", "customers", *p, "--json").stdout)
    assert diff["key"] == ["customer_id"]
    assert diff["rows"] == {"added": 1, "removed": 1, "changed": 1}
    assert diff["sample"]["changed"] == [
        {"customer_id": 2, "changed": ["country"], "old": {"country": "US"}, "new": {"country": "CA"}}
    ]

    checkout = _dc("checkout", "customers", "1", *p)
    assert checkout.returncode == 0, checkout.stdout + checkout.stderr
    out = root / "data" / "warehouse" / "crm" / "customers.parquet"
    rows = duckdb.sql(f"select customer_id, country from read_parquet('{out}') order by 1").fetchall()
    assert rows == [(1, "UK"), (2, "US"), (3, "FI")]
    assert_dvc_clean(root)
    history = json.loads(_dc("history", "customers", *p, "--json").stdout)
    assert [(h["version"], h["checkout_of"]) for h in history] == [(3, 1), (2, None), (1, None)]
    assert history[0]["hash"] == history[2]["hash"]
