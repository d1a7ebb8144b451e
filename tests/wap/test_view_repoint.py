"""dbt views of published models: re-pointed once per batch, or at once when a later node of the
batch reads through views (a view, or a relationships check on one). Real dbt and DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import write_project

pytestmark = pytest.mark.slow

SPEC = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
assets:
  base:
    sql: select id, amount from raw_orders
    checks:
      - {row_count: {min: 1}, severity: warn}
  wide:
    sql: select id, amount * 2 as double_amount from base
  base_view:
    materialized: view
    sql: select id, amount from base where amount > 1
    checks:
      - not_null: [id]
"""


def test_views_read_published_outputs_within_and_after_the_batch(tmp_path: Path, dagster_home: Path) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(
        tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": "id,amount\n1,1\n2,5\n3,7\n"}
    )
    summary = materialize_project(root)
    assert summary.success, summary.errors
    rows = {r.asset: (r.status, r.checks) for r in summary.rows}
    # base_view's check read it through base's view in the same dbt batch as base's publish
    assert rows["base_view"] == ("materialized", "1/1 passed")
    assert rows["wide"][0] == "materialized"
    con = duckdb.connect(str(root / "data" / "datacody.duckdb"), read_only=True)
    try:
        con.execute(f"set file_search_path = '{root / 'dbt_project'}'")
        # every view of a published model reads the published Parquet (no staging path left)
        for name, expected in (("base", 3), ("wide", 3), ("base_view", 2)):
            assert con.execute(f'select count(*) from main."{name}"').fetchall() == [(expected,)]
        ddl = dict(con.execute("select view_name, sql from duckdb_views() where not internal").fetchall())
    finally:
        con.close()
    for name in ("base", "wide"):
        assert f"warehouse/shop/{name}.parquet" in ddl[name], ddl[name]
