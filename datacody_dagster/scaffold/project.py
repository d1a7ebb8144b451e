"""Files of a new project. Written once by `datacody init`; users own them afterwards."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.emit.dbt import scaffold_files
from datacody_dagster.emit.files import atomic_write_text

EXAMPLE_SPEC = """\
# yaml-language-server: $schema=../.datacody/asset-spec.schema.json
# An example group: a raw CSV, a staging view and a mart with checks.
group: shop
owners: [team:analytics]

sources:
  raw_orders:
    path: data/raw/orders.csv
    description: Orders as exported by the shop
    checks:
      - not_null: [id]

assets:
  stg_orders:
    materialized: view
    sql: |
      select id as order_id, customer_id, order_date, status, amount
      from raw_orders
    checks:
      - unique: order_id
      - accepted_values: {column: status, values: [placed, shipped, completed, returned]}
    semantic:                    # what a row means (a MetricFlow semantic model)
      entities:
        order: {type: primary, expr: order_id}
        customer: {type: foreign, expr: customer_id}
      dimensions:
        order_date: {type: time, granularity: day, label: Order date}
        status: {label: Status, description: "placed, shipped, completed or returned"}
      measures:
        order_total: {agg: sum, expr: amount, description: Sum of order amounts}
        order_count: {agg: count, expr: "1", description: Number of orders}
        buyers: {agg: count_distinct, expr: customer_id, description: Distinct customers}

  customer_totals:
    description: Revenue and order count per customer
    sql: |
      select customer_id, count(*) as orders, sum(amount) as revenue
      from stg_orders
      where status <> 'returned'
      group by customer_id
    columns:
      customer_id: {type: integer, checks: [unique, not_null]}
    checks:
      - range: {column: revenue, min: 0}
      - {row_count: {min: 1}, severity: warn}

metrics:                         # `datacody metrics query -m revenue -g status,day`, `datacody ask`
  revenue: {label: Revenue, description: Total amount of all orders, measure: order_total}
  orders: {label: Orders, description: Number of orders placed, measure: order_count}
  customers: {label: Customers, description: Number of distinct customers who ordered, measure: buyers}
  average_order_value:
    type: ratio
    label: Average order value
    description: Revenue per order
    numerator: revenue
    denominator: orders
  completed_revenue:
    label: Completed revenue
    description: Revenue of completed orders only
    measure: order_total
    filter: "status = 'completed'"

exports:                         # a saved metric query, materialized as an asset (Parquet)
  daily_revenue_by_status:
    description: Revenue and orders per day and order status
    metrics: [revenue, orders]
    group_by: [status, day]
    checks:
      - unique: [order__status, metric_time__day]
      - range: {column: revenue, min: 0}
"""

EXAMPLE_CSV = """\
id,customer_id,order_date,status,amount
1,1,2024-01-01,completed,10.5
2,1,2024-01-02,shipped,20.0
3,2,2024-01-02,placed,7.25
4,3,2024-01-03,returned,12.0
5,2,2024-01-04,completed,3.0
"""

DEV_YAML = """\
# Embedded defaults: DuckDB, local files, Dagster's SQLite instance. No secrets here.
specs_dir: asset_specs
dbt_project_dir: dbt_project
warehouse_dir: data/warehouse
duckdb_path: data/datacody.duckdb
dvc:
  enabled: true
"""

PROD_YAML = """\
# Production settings; secrets are env-var names only.
specs_dir: asset_specs
dbt_project_dir: dbt_project
warehouse_dir: data/warehouse
duckdb_path: data/datacody.duckdb
dvc:
  enabled: true
  remote: ${DATACODY_DVC_REMOTE}
spark:
  master: ${SPARK_MASTER}
llm:
  provider: anthropic
  api_key_env: ANTHROPIC_API_KEY
"""

WORKSPACE_YAML = """\
load_from:
  - python_module:
      module_name: datacody_dagster.definitions
      attribute: defs
      working_directory: .
"""

GITIGNORE = """\
data/
.dagster_home/
dbt_project/target/
dbt_project/logs/
__pycache__/
"""


def new_project_files(with_example: bool = True) -> dict[str, str]:
    files = {
        "resources/dev.yaml": DEV_YAML,
        "resources/prod.yaml": PROD_YAML,
        "workspace.yaml": WORKSPACE_YAML,
        ".gitignore": GITIGNORE,
        **{f"dbt_project/{k}": v for k, v in scaffold_files().items()},
    }
    if with_example:
        files["asset_specs/example.yaml"] = EXAMPLE_SPEC
        files["data/raw/orders.csv"] = EXAMPLE_CSV
    else:
        files["asset_specs/.gitkeep"] = ""
    return files


def create_project(root: Path, with_example: bool = True) -> list[Path]:
    """Write the files of a new project; existing files are left untouched."""
    written = []
    for rel, text in new_project_files(with_example).items():
        path = root / rel
        if path.exists():
            continue
        atomic_write_text(path, text)
        written.append(path)
    return written
