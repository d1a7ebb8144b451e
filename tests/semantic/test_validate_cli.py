"""`datacody metrics validate`: MetricFlow's checks dry-run against the warehouse's outputs."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from tests.conftest import write_project

runner = CliRunner()


def test_valid_example_passes_every_stage(warehouse_project: Path) -> None:
    res = runner.invoke(app, ["metrics", "validate", "-p", str(warehouse_project)])
    assert res.exit_code == 0, res.output
    for stage in ("semantics", "semantic models", "dimensions", "entities", "measures", "metrics"):
        assert f"{stage}: ok" in res.output
    assert "ok: semantic layer valid" in res.output


def test_a_column_missing_from_the_output_fails_against_the_warehouse(tmp_path: Path) -> None:
    # a glob source: its columns are unknown at compile time, so only the warehouse can tell
    root = write_project(
        tmp_path,
        {
            "shop.yaml": """\
        group: shop
        sources:
          raw_orders:
            path: data/raw/orders_*.csv
        assets:
          orders:
            sql: select * from raw_orders
            semantic:
              entities:
                order: {type: primary, expr: id}
              dimensions:
                ordered_at: {type: time}
              measures:
                revenue: {agg: sum, expr: amount}
        metrics:
          revenue: {measure: revenue}
        """
        },
        {"data/raw/orders_1.csv": "id,ordered_at,price\n1,2024-01-01,3.5\n"},
        dvc=False,
    )
    out = root / "data" / "warehouse" / "shop" / "orders.parquet"
    out.parent.mkdir(parents=True)
    csv = root / "data" / "raw" / "orders_1.csv"
    duckdb.sql(f"copy (select * from read_csv('{csv}')) to '{out}' (format parquet)")
    res = runner.invoke(app, ["metrics", "validate", "-p", str(root)])
    assert res.exit_code == 1, res.output
    assert "semantics: ok" in res.output and "dimensions: ok" in res.output
    assert re.search(r"measures: \d+ error", res.output) and re.search(r"metrics: \d+ error", res.output)
    assert '"amount" not found' in res.output and "Traceback" not in res.output
