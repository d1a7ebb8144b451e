"""Same checks, same corrupted data: datacody's verdicts equal those of a real `dbt test`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datacody_dagster.checks import evaluate_checks
from tests.checks.helpers import checks, target, write_parquet

pytestmark = pytest.mark.slow

ORDERS = """
select i as id, i % 20 as cust_id,
       ['placed','shipped','done'][1 + i % 3] as status from range(200) t(i)
"""
CORRUPTIONS = {
    "clean": ORDERS,
    "dirty": f"""
        select * replace (case when id = 5 then 6 else id end as id,
                          case when id = 7 then 99 when id = 11 then null else cust_id end as cust_id,
                          case when id = 9 then 'lost' else status end as status)
        from ({ORDERS}) union all select null, 1, null
    """,
}
ENTRIES = {
    "t_unique_id": {"unique": "id"},
    "t_not_null_id": {"not_null": ["id"]},
    "t_not_null_cust": {"not_null": ["cust_id"]},
    "t_status": {"accepted_values": {"column": "status", "values": ["placed", "shipped", "done"]}},
    "t_cust_fk": {"relationships": {"column": "cust_id", "to": "customers", "field": "id"}},
}
SCHEMA = """
version: 2
models:
  - name: orders
    columns:
      - name: id
        data_tests:
          - unique: {name: t_unique_id}
          - not_null: {name: t_not_null_id}
      - name: cust_id
        data_tests:
          - not_null: {name: t_not_null_cust}
          - relationships: {name: t_cust_fk, arguments: {to: ref('customers'), field: id}}
      - name: status
        data_tests:
          - accepted_values: {name: t_status, arguments: {values: [placed, shipped, done]}}
"""


def _dbt_project(root: Path, orders: Path, customers: Path) -> None:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: parity\nversion: '1.0.0'\nprofile: parity\nmodel-paths: [models]\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
    )
    (root / "profiles.yml").write_text(
        "parity:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{root / 'p.duckdb'}'\n      threads: 1\n"
    )
    (root / "models" / "orders.sql").write_text(
        f"{{{{ config(materialized='view') }}}}\nselect * from read_parquet('{orders}')"
    )
    (root / "models" / "customers.sql").write_text(
        f"{{{{ config(materialized='view') }}}}\nselect * from read_parquet('{customers}')"
    )
    (root / "models" / "schema.yml").write_text(textwrap.dedent(SCHEMA))


def _dbt_verdicts(root: Path) -> dict[str, bool]:
    dbt = Path(sys.executable).parent / "dbt"
    proc = subprocess.run(
        [str(dbt), "build", "--profiles-dir", ".", "--no-use-colors"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    verdicts = {
        r["unique_id"].split(".")[2]: r["status"] == "pass"
        for r in results
        if r["unique_id"].startswith("test.")
    }
    assert set(verdicts) == set(ENTRIES), proc.stdout[-2000:]
    return verdicts


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_verdicts_equal_dbt_test(tmp_path: Path, case: str) -> None:
    orders = write_parquet(tmp_path / "orders.parquet", CORRUPTIONS[case])
    customers = write_parquet(tmp_path / "customers.parquet", "select i as id from range(20) t(i)")
    _dbt_project(tmp_path / "dbt", orders, customers)
    dbt = _dbt_verdicts(tmp_path / "dbt")
    cs = checks("orders", *[{**e, "name": n} for n, e in ENTRIES.items()])
    outs = evaluate_checks(target(orders, "orders", resolve=lambda _: f"read_parquet('{customers}')"), cs)
    ours = {o.check.name: o.passed for o in outs}
    assert ours == dbt
    if case == "dirty":
        assert not any(ours.values())  # every corruption is seen by both
    else:
        assert all(ours.values())
