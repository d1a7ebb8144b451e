"""Checks of Spark assets run on Spark, with the DuckDB evaluator's verdicts and counts.

All tests share ONE local SparkSession (session fixture in conftest.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacody_dagster.checks import evaluate_checks
from datacody_dagster.checks.model import CheckTarget
from datacody_dagster.checks.spark import evaluate_on_spark
from datacody_dagster.compiler.checks import PlannedCheck
from tests.conftest import write_project

pytestmark = pytest.mark.spark

NAN = math.nan


def _check(name: str, kind: str, **args: Any) -> PlannedCheck:
    return PlannedCheck("orders", name, kind, args, "error", name)


CHECKS = [
    _check("not_null_customer_id", "not_null", column="customer_id", columns=["customer_id"]),
    _check("not_null_order_id", "not_null", column="order_id", columns=["order_id"]),
    _check("unique_order_id", "unique", columns=["order_id"]),
    _check("unique_customer_sku", "unique", columns=["customer_id", "sku"]),
    _check("unique_email", "unique", columns=["email"]),  # nulls are not duplicates
    _check("accepted_status", "accepted_values", column="status", values=["placed", "shipped", "completed"]),
    _check("accepted_priority", "accepted_values", column="priority", values=[1, 2, 3]),
    _check("range_amount", "range", column="amount", min=0, max=1000),
    _check("range_amount_min_only", "range", column="amount", min=0),  # NaN is above every number
    _check("regex_sku", "regex", column="sku", pattern=r"[A-Z]{2}-\d{3}"),
    _check("regex_email", "regex", column="email", pattern=r"[a-z]+@[a-z]+\.(com|org)"),
    _check(
        "relationships_customer", "relationships", column="customer_id", to="customers", field="customer_id"
    ),
    _check("row_count", "row_count", min=1, max=100),
    _check("row_count_small", "row_count", max=8),
    # DuckDB-only spellings (len, ::) translated by sqlglot; a null result is not a failure.
    _check("expression_amount", "expression", expression="coalesce(amount, 0) <= 1000 and len(status) <= 9"),
    _check("expression_cast", "expression", expression="priority::varchar <> '7'"),
    _check("sql_big_placed", "sql", sql="select * from orders where status = 'placed' and amount > 100"),
    _check(
        "sql_unknown_customer",
        "sql",
        sql="select * from {{ ref('orders') }} where customer_id not in (select customer_id from customers)",
    ),
]
UNSUPPORTED = [
    _check("schema", "schema", columns_types={"order_id": "bigint"}),
    _check("anomaly", "row_count_anomaly"),
    _check("secrets", "secrets", columns=["email"]),
]

CUSTOMERS = pa.table({"customer_id": [1, 2, 3], "name": ["Ada", "Grace", "Linus"]})
CLEAN = {
    "order_id": [1, 2, 3, 4, 5, 6],
    "customer_id": [1, 2, 3, 1, 2, 3],
    "sku": ["AB-123", "CD-456", "EF-789", "AB-124", "CD-457", None],
    "email": ["a@x.com", "b@y.org", None, "c@x.com", None, "d@z.com"],
    "status": ["placed", "shipped", "completed", "completed", "shipped", "completed"],
    "priority": [1, 2, 3, None, 1, 2],
    "amount": [10.0, 5.5, 0.0, 1000.0, None, 7.25],
}
CORRUPT = {
    "order_id": [1, 1, 3, 4, 5, 6, 7, 8, 9, 10],  # duplicate key
    "customer_id": [1, 2, None, None, 99, 3, 1, 2, 3, 1],  # nulls, unknown FK
    "sku": ["AB-123", "CD-456", "EF-789", "EF-789", "AB-1234", "ab-123", "AB-123\n", "X", "AB-123", None],
    "email": [
        "a@x.com",
        "a@x.com",
        None,
        "c@x.COM",
        "bad",
        "e@x.com\n",
        "f@x.org",
        None,
        "g@x.net",
        "h@h.com",
    ],
    "status": [
        "placed",
        "shipped",
        "lost",
        "placed",
        "shipped",
        "completed",
        "Placed",
        "placed",
        None,
        "placed",
    ],
    "priority": [1, 2, 3, 4, 1, 2, None, 7, 3, 0],
    "amount": [10.0, -3.0, NAN, 5000.0, None, 7.0, 1000.0, 1000.5, 0.0, NAN],
}
# What the corrupted data must fail (so the comparison below is not vacuous).
CORRUPT_FAILS = {
    "not_null_customer_id",
    "unique_order_id",
    "unique_customer_sku",
    "unique_email",
    "accepted_status",
    "accepted_priority",
    "range_amount",
    "range_amount_min_only",
    "regex_sku",
    "regex_email",
    "relationships_customer",
    "row_count_small",
    "expression_amount",
    "expression_cast",
    "sql_big_placed",
    "sql_unknown_customer",
}


def _write(folder: Path, orders: dict[str, list[Any]]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"orders": folder / "orders.parquet", "customers": folder / "customers.parquet"}
    types = {
        "order_id": pa.int64(),
        "customer_id": pa.int64(),
        "priority": pa.int32(),
        "amount": pa.float64(),
    }
    table = pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in orders.items()})
    pq.write_table(table, paths["orders"])
    pq.write_table(CUSTOMERS, paths["customers"])
    return paths


def _duck_target(paths: dict[str, Path]) -> CheckTarget:
    return CheckTarget(
        asset="orders",
        relation=f"read_parquet('{paths['orders']}')",
        parquet_path=paths["orders"],
        resolve=lambda name: f"read_parquet('{paths[name]}')",
    )


@pytest.mark.parametrize("data", ["clean", "corrupt"])
def test_spark_verdicts_equal_duckdb(tmp_path: Path, spark, spark_settings, data: str) -> None:  # type: ignore[no-untyped-def]
    paths = _write(tmp_path, CLEAN if data == "clean" else CORRUPT)
    checks = [*CHECKS, *UNSUPPORTED]
    on_spark = evaluate_on_spark(paths["orders"], checks, spark_settings, lambda name: paths[name])
    assert on_spark[len(CHECKS) :] == [None] * len(UNSUPPORTED)  # left to the DuckDB evaluator
    duck = evaluate_checks(_duck_target(paths), CHECKS)
    failed = set()
    for check, s, d in zip(CHECKS, on_spark[: len(CHECKS)], duck, strict=True):
        assert s is not None, check.name
        assert d.error is None and s.error is None, (check.name, d.error, s.error)
        got = (s.passed, s.failing_rows, s.total_rows)
        want = (d.passed, d.failing_rows, d.total_rows)
        assert got == want, (check.name, got, want, s.query)
        assert s.metadata["engine"] == "spark" and s.query.startswith("SELECT")
        assert len(s.sample) <= 5
        if s.failing_rows and check.kind != "row_count":
            assert s.sample, check.name
            failed.add(check.name)
        elif not s.passed:
            failed.add(check.name)
    assert failed == (CORRUPT_FAILS if data == "corrupt" else set())


def test_failing_counts_and_samples(tmp_path: Path, spark, spark_settings) -> None:  # type: ignore[no-untyped-def]
    paths = _write(tmp_path, CORRUPT)
    by_name = {
        o.check.name: o
        for o in evaluate_on_spark(paths["orders"], CHECKS, spark_settings, lambda name: paths[name])
        if o is not None
    }
    # NaN fails `max` (above every number) but not `min`; null is judged by not_null only.
    assert by_name["range_amount"].failing_rows == 5  # -3, NaN, 5000, 1000.5, NaN
    assert by_name["range_amount_min_only"].failing_rows == 1
    # Full match: a longer value, lower case and a trailing newline all miss.
    assert {r["sku"] for r in by_name["regex_sku"].sample} == {"AB-1234", "ab-123", "AB-123\n", "X"}
    assert by_name["unique_customer_sku"].failing_rows == 2  # (null, EF-789) twice: nulls group
    assert by_name["unique_order_id"].sample == [{"order_id": 1, "n": 2}]
    assert by_name["relationships_customer"].sample[0]["customer_id"] == 99
    assert by_name["relationships_customer"].metadata["missing_keys"] == 1
    assert "NOT EXISTS" in by_name["relationships_customer"].query
    # Queries read the files (pasteable into spark-sql); the temp views are gone.
    assert f"parquet.`{paths['customers']}`" in by_name["relationships_customer"].query
    assert f"parquet.`{paths['orders']}`" in by_name["sql_unknown_customer"].query
    assert not [t.name for t in spark.catalog.listTables() if t.name.startswith("dc_check_")]


def test_untranslatable_and_unresolvable_checks_fall_back(tmp_path: Path, spark, spark_settings) -> None:  # type: ignore[no-untyped-def]
    paths = _write(tmp_path, CLEAN)
    checks = [
        _check("duck_only", "expression", expression="no_such_function(amount) > 0"),
        _check("bad_column", "not_null", column="missing", columns=["missing"]),
        _check("view_parent", "relationships", column="customer_id", to="a_view", field="customer_id"),
        _check("ok", "not_null", column="order_id", columns=["order_id"]),
    ]

    def resolve(name: str) -> Path:
        if name not in paths:
            raise LookupError(name)
        return paths[name]

    out = evaluate_on_spark(paths["orders"], checks, spark_settings, resolve)
    assert out[:3] == [None, None, None]
    assert out[3] is not None and out[3].passed and out[3].total_rows == 6


SPEC = """\
group: shop
sources:
  raw_customers: {path: data/raw/customers.csv}
  raw_orders: {path: data/raw/orders.csv}
assets:
  customers:
    engine: spark
    sql: select id as customer_id, name from raw_customers
    checks:
      - unique: customer_id
  orders:
    engine: spark
    sql: select id as order_id, customer_id, status, amount from raw_orders
    checks:
      - unique: order_id
      - not_null: [customer_id]
      - accepted_values: {column: status, values: [placed, shipped, completed]}
      - {range: {column: amount, min: 0}, severity: warn}
      - relationships: {column: customer_id, to: customers, field: customer_id}
      - {row_count: {min: 1}, severity: warn}
      - expression: "amount < 100"
      - schema: {order_id: integer, status: varchar}
"""
CSV_CUSTOMERS = "id,name\n1,Ada\n2,Grace\n"
CSV_ORDERS = "id,customer_id,status,amount\n1,1,placed,10\n2,2,shipped,5\n3,9,placed,-1\n"


def test_materialized_spark_asset_checks_run_on_spark(tmp_path: Path, dagster_home: Path, spark) -> None:  # type: ignore[no-untyped-def]
    import dagster as dg

    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(
        tmp_path / "p",
        {"shop.yaml": SPEC},
        {
            "data/raw/customers.csv": CSV_CUSTOMERS,
            "data/raw/orders.csv": CSV_ORDERS,
        },
        dvc=False,
    )
    with (root / "resources" / "dev.yaml").open("a", encoding="utf-8") as fh:
        fh.write("spark:\n  master: local[1]\n  conf: {spark.sql.shuffle.partitions: '2'}\n")
    summary = materialize_project(root)
    assert summary.run_id is not None
    instance = dg.DagsterInstance.get()
    records = instance.all_logs(summary.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evals = {}
    for record in records:
        ev = record.dagster_event.event_specific_data  # type: ignore[union-attr]
        evals[(ev.asset_key.to_user_string(), ev.check_name)] = ev
    engines = {key: ev.metadata["engine"].value for key, ev in evals.items()}
    assert engines == {
        ("customers", "unique_customer_id"): "spark",
        ("orders", "unique_order_id"): "spark",
        ("orders", "not_null_customer_id"): "footer",  # null counts in the Parquet footer
        ("orders", "accepted_values_status"): "spark",
        ("orders", "range_amount"): "spark",
        ("orders", "relationships_customer_id"): "spark",
        ("orders", "row_count"): "footer",
        ("orders", "expression"): "spark",
        ("orders", "schema"): "duckdb",
    }
    failed = {key[1] for key, ev in evals.items() if not ev.passed}
    assert failed == {"range_amount", "relationships_customer_id"}
    rel = evals[("orders", "relationships_customer_id")].metadata
    assert rel["failing_rows"].value == 1 and rel["total_rows"].value == 3
    assert "reason" in rel  # the same failure reason the DuckDB evaluator gives
    assert not summary.success  # the blocking relationships check failed

    # write-audit-publish on Spark: the failing candidate of `orders` is quarantined, unpublished
    status = {r.asset: r.status for r in summary.rows}
    assert status["orders"] == "quarantined" and status["customers"] == "materialized"
    assert not (root / "data/warehouse/shop/orders.parquet").exists()
    assert list((root / "data/quarantine/shop/orders").glob("*.parquet"))

    # check-only on a Spark asset: evaluated (on Spark) on the current output, nothing written
    from datacody_dagster.definitions import build_definitions

    published = root / "data/warehouse/shop/customers.parquet"
    stat = published.stat()
    key = dg.AssetCheckKey(dg.AssetKey("customers"), "unique_customer_id")
    defs = build_definitions(root)
    result = dg.materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        instance=instance,
        selection=dg.AssetSelection.checks(key),
        resources=dict(defs.resources or {}),  # the `spark` resource the Spark asset requires
    )
    (ev,) = result.get_asset_check_evaluations()
    assert (ev.check_name, ev.passed, ev.metadata["engine"].value) == ("unique_customer_id", True, "spark")
    assert result.get_asset_materialization_events() == []
    assert (published.stat().st_mtime_ns, published.stat().st_size) == (stat.st_mtime_ns, stat.st_size)


@pytest.mark.parametrize("data", ["clean", "corrupt"])
def test_asset_checks_use_the_footer_and_the_result_cache_before_spark(
    tmp_path: Path, spark, data: str
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace as with_fields

    from datacody_dagster.checks.cache import ResultCache
    from datacody_dagster.checks.spark import evaluate_spark_asset_checks

    paths = _write(tmp_path, CLEAN if data == "clean" else CORRUPT)
    target = with_fields(_duck_target(paths), data_version=f"md5-{data}")
    cache = ResultCache(tmp_path / "cache.sqlite")
    checks = [*CHECKS, *UNSUPPORTED[:1]]
    first = evaluate_spark_asset_checks(target, checks, spark, lambda n: paths[n], cache=cache)
    duck = evaluate_checks(_duck_target(paths), checks)
    verdicts = [(o.check.name, o.passed, o.failing_rows, o.total_rows) for o in first]
    assert verdicts == [(o.check.name, o.passed, o.failing_rows, o.total_rows) for o in duck]
    engines = {o.check.name: o.metadata["engine"] for o in first}
    assert engines["row_count"] == engines["row_count_small"] == "footer"  # no job for a count
    assert engines["not_null_customer_id"] == "footer" and engines["schema"] == "duckdb"
    assert engines["unique_order_id"] == engines["sql_big_placed"] == "spark"

    # Unchanged data, unchanged checks: every outcome comes from the cache, no Spark job runs
    # (`sql` checks read other data and `relationships` another asset's version: never cached).
    cacheable = [c for c in checks if c.kind not in ("sql", "relationships")]
    tracker = spark.sparkContext.statusTracker()
    jobs = len(tracker.getJobIdsForGroup(None))
    again = evaluate_spark_asset_checks(target, cacheable, spark, lambda n: paths[n], cache=cache)
    assert all(o.reused for o in again), [o.check.name for o in again if not o.reused]
    first_by_name = {v[0]: v[:3] for v in verdicts}
    assert [(o.check.name, o.passed, o.failing_rows) for o in again] == [
        first_by_name[c.name] for c in cacheable
    ]
    assert len(tracker.getJobIdsForGroup(None)) == jobs
