"""A small shop project with one asset per writer kind (source, dbt SQL, Python, steps),
materialized once per module; tests plant bad batches and run checks on their own."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import write_project

SPEC = """\
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
    checks:
      - not_null: [id]
assets:
  stg_orders:
    sql: select id as order_id, customer_id, amount from raw_orders
    checks:
      - range: {column: amount, min: 0}
      - {row_count: {min: 1}, severity: warn}
  order_totals:
    sql: select customer_id, sum(amount) as revenue from stg_orders group by customer_id
  scores:
    python: wap_shop_tx:scores
    deps: [raw_orders]
    checks:
      - range: {column: score, min: 0}
  clean_orders:
    from: raw_orders
    steps:
      - filter: "amount < 1000"
    checks:
      - range: {column: amount, max: 500}
      - {row_count: {min: 1}, schedule: "0 * * * *"}
"""
PYTHON = """\
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc


def scores(raw_orders):
    factor = float((Path(__file__).parent / "data/raw/factor.txt").read_text())
    return pa.table({"id": raw_orders["id"], "score": pc.multiply(raw_orders["amount"], factor)})
"""
GOOD = "id,customer_id,amount\n1,1,10\n2,2,5\n3,1,7\n"
ASSETS = ("raw_orders", "stg_orders", "order_totals", "scores", "clean_orders")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@dataclass
class Shop:
    root: Path
    before_any_output: dg.ExecuteInProcessResult

    def output(self, asset: str) -> Path:
        return self.root / "data" / "warehouse" / "shop" / f"{asset}.parquet"

    def snapshot(self) -> dict[str, tuple[str, int]]:
        return {a: (md5(self.output(a)), self.output(a).stat().st_mtime_ns) for a in ASSETS}

    def instance(self) -> dg.DagsterInstance:
        from datacody_dagster.instance import project_instance

        return project_instance(self.root)

    def run(self, selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
        """A run of exactly ``selection`` (assets and/or checks), in process."""
        from datacody_dagster.definitions import build_definitions

        defs = build_definitions(self.root)
        return dg.materialize(
            list(defs.assets or []),  # type: ignore[arg-type]
            instance=self.instance(),
            selection=selection,
            raise_on_error=False,
        )


def check_selection(*pairs: tuple[str, str]) -> dg.AssetSelection:
    return dg.AssetSelection.checks(*(dg.AssetCheckKey(dg.AssetKey(a), c) for a, c in pairs))


ALL_CHECKS = (
    ("raw_orders", "not_null_id"),
    ("stg_orders", "range_amount"),
    ("scores", "range_score"),
    ("clean_orders", "range_amount"),
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(
        tmp_path_factory.mktemp("wap") / "shop",
        {"shop.yaml": SPEC},
        {"data/raw/orders.csv": GOOD, "data/raw/factor.txt": "1\n", "wap_shop_tx.py": PYTHON},
    )
    home = root / ".dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        shop = Shop(root, before_any_output=None)  # type: ignore[arg-type]
        shop.before_any_output = shop.run(check_selection(*ALL_CHECKS))
        summary = materialize_project(root)
        assert summary.success, summary.errors
        yield shop
