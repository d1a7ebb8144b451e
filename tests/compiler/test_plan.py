"""Planning: inferred dependencies, topological order, fingerprints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from datacody_dagster.compiler import compile_project
from datacody_dagster.spec.check_args import ColumnsArgs
from tests.conftest import write_project

BASE = """\
sources:
  raw_orders: {path: data/orders.csv}
assets:
  stg_orders:
    sql: select id as order_id, amount from raw_orders
  orders:
    sql: |
      with big as (select * from {{ ref('stg_orders') }} where amount > 10)
      select order_id, amount from big
  summary:
    python: pkg.mod:fn
    deps: [orders]
"""


def _plan(root: Path, text: str = BASE):  # type: ignore[no-untyped-def]
    write_project(
        root, {"shop.yaml": text}, {"data/orders.csv": "id,amount\n1,5\n", "pkg/mod.py": "def fn(): ...\n"}
    )
    return compile_project(root).plan


def test_dependencies_inferred_from_sql_and_ref(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert plan.node("stg_orders").deps == ("raw_orders",)
    # the CTE name `big` is not a dependency; {{ ref() }} resolves like a plain name
    assert plan.node("orders").deps == ("stg_orders",)
    assert plan.node("summary").deps == ("orders",)
    assert plan.names.index("raw_orders") < plan.names.index("stg_orders") < plan.names.index("orders")
    assert plan.node("orders").group == "shop"  # default group: the file's stem


def test_fingerprint_ignores_formatting_and_comments(tmp_path: Path) -> None:
    a = _plan(tmp_path / "a").node("stg_orders").fingerprint
    reformatted = BASE.replace(
        "sql: select id as order_id, amount from raw_orders",
        "sql: |\n      -- staging\n      SELECT id AS order_id,\n             amount\n      FROM raw_orders",
    )
    b = _plan(tmp_path / "b", reformatted).node("stg_orders").fingerprint
    assert a == b
    changed = BASE.replace("select id as order_id, amount", "select id as order_id, amount * 2 as amount")
    c = _plan(tmp_path / "c", changed).node("stg_orders").fingerprint
    assert c != a


def test_fingerprint_changes_with_materialization(tmp_path: Path) -> None:
    a = _plan(tmp_path / "a").node("stg_orders")
    b = _plan(tmp_path / "b", BASE.replace("  stg_orders:\n", "  stg_orders:\n    materialized: view\n"))
    assert b.node("stg_orders").fingerprint != a.fingerprint
    assert b.node("orders").fingerprint == _plan(tmp_path / "c").node("orders").fingerprint


def test_checks_expand_per_column_and_keep_severity(tmp_path: Path) -> None:
    text = BASE.replace(
        "    sql: select id as order_id, amount from raw_orders\n",
        "    sql: select id as order_id, amount from raw_orders\n"
        "    checks:\n      - not_null: [order_id, amount]\n      - unique: [order_id, amount]\n"
        "      - {row_count: {min: 1}, severity: warn}\n"
        "    columns:\n      order_id: {checks: [unique]}\n",
    )
    node = _plan(tmp_path, text).node("stg_orders")
    by_name = {c.name: c for c in node.checks}
    assert set(by_name) == {
        "not_null_order_id",
        "not_null_amount",
        "unique_order_id__amount",
        "row_count",
        "unique_order_id",
    }
    assert by_name["row_count"].severity == "warn" and not by_name["row_count"].blocking
    assert by_name["unique_order_id__amount"].params_as(ColumnsArgs).columns == ["order_id", "amount"]
    assert by_name["unique_order_id"].location is not None
    assert by_name["unique_order_id"].location.line == 11


def test_node_kind_predicates(tmp_path: Path) -> None:
    """What runs in dbt, what is a view: one property each on the plan node."""
    text = BASE + (
        "  stg_view:\n    materialized: view\n    sql: select * from stg_orders\n"
        "  spark_orders:\n    engine: spark\n    sql: select * from stg_orders\n"
    )
    plan = _plan(tmp_path, text)
    in_dbt = {n.name for n in plan.nodes if n.runs_in_dbt}
    assert in_dbt == {"stg_orders", "orders", "stg_view"}
    assert {n.name for n in plan.nodes if n.is_dbt_view} == {"stg_view"}
    # A node built without validation that says `view` where no engine makes one is what its
    # runtime writes: a Parquet table (versioned, promoted), not a view.
    spark = replace(plan.node("spark_orders"), materialized="view")
    python = replace(plan.node("summary"), materialized="view")
    assert not spark.is_dbt_view and not python.is_dbt_view
    assert {n.name for n in plan.nodes if n.is_source} == {"raw_orders"}
