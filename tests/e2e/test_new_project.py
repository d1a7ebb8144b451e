"""A new project from `datacody init`, materialized with --project-dir, equals hand-written dbt."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import duckdb
import pytest

from tests.conftest import datacody_bin

pytestmark = pytest.mark.slow

CRM_SPEC = """\
group: crm
sources:
  raw_customers:
    path: data/raw/customers.csv
    checks:
      - unique: id
assets:
  customer_revenue:
    description: Revenue per customer with their name and country
    sql: |
      select c.id as customer_id, c.name, c.country,
             coalesce(t.revenue, 0) as revenue, coalesce(t.orders, 0) as orders
      from raw_customers c
      left join customer_totals t on t.customer_id = c.id
    checks:
      - unique: customer_id
  country_revenue:
    sql: |
      select country, sum(revenue) as revenue, count(*) as customers
      from customer_revenue
      group by country
"""
CUSTOMERS = "id,name,country\n1,Ada,UK\n2,Grace,US\n3,Linus,FI\n4,Barbara,US\n"

HAND_MODELS = {
    "stg_orders.sql": "{{ config(materialized='view') }}\n"
    "select id as order_id, customer_id, order_date, status, amount from read_csv('{raw}/orders.csv')",
    "customer_totals.sql": "select customer_id, count(*) as orders, sum(amount) as revenue\n"
    "from {{ ref('stg_orders') }} where status <> 'returned' group by customer_id",
    "customer_revenue.sql": "select c.id as customer_id, c.name, c.country,\n"
    "coalesce(t.revenue, 0) as revenue, coalesce(t.orders, 0) as orders\n"
    "from read_csv('{raw}/customers.csv') c left join {{ ref('customer_totals') }} t on t.customer_id = c.id",
    "country_revenue.sql": "select country, sum(revenue) as revenue, count(*) as customers\n"
    "from {{ ref('customer_revenue') }} group by country",
}


def _run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, env=env)


def _hand_written_dbt(tmp: Path, raw: Path) -> Path:
    proj = tmp / "hand"
    (proj / "models").mkdir(parents=True)
    (proj / "dbt_project.yml").write_text("name: hand\nversion: '1.0'\nprofile: hand\n")
    (proj / "profiles.yml").write_text(
        textwrap.dedent(f"""\
        hand:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{proj / "hand.duckdb"}"}}
        """)
    )
    for name, sql in HAND_MODELS.items():
        (proj / "models" / name).write_text(sql.replace("{raw}", str(raw)))
    dbt = str(Path(datacody_bin()).parent / "dbt")
    proc = _run(
        dbt,
        "run",
        "--profiles-dir",
        ".",
        cwd=proj,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    return proj / "hand.duckdb"


def test_init_project_materializes_and_matches_hand_written_dbt(tmp_path: Path, dagster_home: Path) -> None:
    root = tmp_path / "proj"
    init = _run(datacody_bin(), "init", str(root))
    assert init.returncode == 0, init.stdout + init.stderr
    for rel in (
        "asset_specs/example.yaml",
        "resources/dev.yaml",
        "dbt_project/dbt_project.yml",
        "workspace.yaml",
    ):
        assert (root / rel).exists(), rel
    (root / "asset_specs" / "crm.yaml").write_text(CRM_SPEC)
    (root / "data" / "raw" / "customers.csv").write_text(CUSTOMERS)

    assert _run(datacody_bin(), "validate", "--project-dir", str(root)).returncode == 0
    mat = _run(datacody_bin(), "materialize", "--project-dir", str(root))
    assert mat.returncode == 0, mat.stdout + mat.stderr
    for name in ("raw_orders", "customer_totals", "raw_customers", "customer_revenue", "country_revenue"):
        assert name in mat.stdout
    group_of = {
        "raw_orders": "shop",
        "customer_totals": "shop",
        "raw_customers": "crm",
        "customer_revenue": "crm",
        "country_revenue": "crm",
    }
    for name, group in group_of.items():
        assert (root / "data" / "warehouse" / group / f"{name}.parquet").is_file(), name

    hand_db = _hand_written_dbt(tmp_path, root / "data" / "raw")
    con = duckdb.connect(str(hand_db), read_only=True)
    for name, group in (("customer_totals", "shop"), ("customer_revenue", "crm"), ("country_revenue", "crm")):
        ours = f"read_parquet('{root}/data/warehouse/{group}/{name}.parquet')"
        diff = con.execute(
            f"select count(*) from ((select * from {ours} except all select * from main.{name}) "
            f"union all (select * from main.{name} except all select * from {ours}))"
        ).fetchall()[0][0]
        assert diff == 0, name
        assert con.execute(f"select count(*) from {ours}").fetchall()[0][0] > 0
