"""Projects with planted inefficiencies (and a clean one) plus real Dagster history for them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
)

from tests.conftest import write_project

PLANTED_SPEC = """\
# Planted inefficiencies: each asset below is there to be found by one rule.
group: shop
sources:
  raw_customers:
    path: data/raw/customers.csv
  raw_events:
    path: data/raw/events.csv     # append-only export
    checks:
      - not_null: [event_id]

assets:
  stg_customers:
    description: A view read by four assets
    materialized: view
    sql: select customer_id, name, country from raw_customers
  customers_by_country:
    sql: select country, count(*) as customers from stg_customers group by country
  customer_names:
    sql: select customer_id, name from stg_customers
  customer_names_copy:
    # the same query as customer_names, written differently
    sql: |
      SELECT customer_id,
             name
      FROM   stg_customers -- copied from customer_names
  customer_ids:
    sql: select customer_id from stg_customers
  country_summary:
    description: Hourly, though its input never changes
    sql: select country, count(*) as n from raw_customers group by all
    schedule: "0 * * * *"   # every hour
  events_enriched:
    description: Full refresh over an append-only source
    sql: select event_id, customer_id, event_at, amount from raw_events
    checks:
      - unique: event_id
      - expression: amount >= 0   # never fails, costs much
"""

CLEAN_SPEC = """\
# A clean project: nothing for the optimizer to say.
group: shop
sources:
  raw_customers:
    path: data/raw/customers.csv
  raw_events:
    path: data/raw/events.csv
    checks:
      - not_null: [event_id]

assets:
  stg_customers:
    sql: select customer_id, name, country from raw_customers
  customers_by_country:
    sql: select country, count(*) as customers from stg_customers group by country
    schedule: "0 6 * * *"
  events_enriched:
    materialized: incremental
    incremental: {unique_key: event_id, cursor: event_at}
    sql: select event_id, customer_id, event_at, amount from raw_events
    checks:
      - unique: event_id
"""

CUSTOMERS = "customer_id,name,country\n1,Ada,FR\n2,Bob,DE\n3,Cy,FR\n"
EVENTS = (
    "event_id,customer_id,event_at,amount\n"
    "1,1,2024-01-01 10:00:00,12.5\n2,2,2024-01-02 11:00:00,3.0\n3,1,2024-01-03 09:30:00,7.25\n"
)


def make_project(root: Path, spec: str) -> Path:
    return write_project(
        root,
        {"shop.yaml": spec},
        {"data/raw/customers.csv": CUSTOMERS, "data/raw/events.csv": EVENTS},
        dvc=False,
    )


def materialize_event(
    instance: DagsterInstance,
    asset: str,
    *,
    rows: int,
    version: str,
    duration: float,
    extra: dict[str, object] | None = None,
) -> None:
    instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key=AssetKey([asset]),
            metadata={
                "dagster/row_count": rows,
                "datacody/dvc_md5": version,
                "datacody/duration_s": duration,
                **(extra or {}),
            },
            tags={"dagster/data_version": version},
        )
    )


def check_event(
    instance: DagsterInstance, asset: str, check: str, *, passed: bool, failing: int, duration: float
) -> None:
    instance.report_runless_asset_event(
        AssetCheckEvaluation(
            asset_key=AssetKey([asset]),
            check_name=check,
            passed=passed,
            metadata={"failing_rows": failing, "duration_s": duration},
        )
    )
    assert instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey([asset]), check), limit=1
    )


def planted_history(instance: DagsterInstance, runs: int = 5) -> None:
    """Five runs: the events source grows, events_enriched slows down, the hourly asset never changes."""
    for i in range(runs):
        materialize_event(instance, "raw_customers", rows=3, version="cust-v1", duration=0.05)
        materialize_event(instance, "raw_events", rows=1000 * (i + 1), version=f"ev-v{i}", duration=0.1)
        materialize_event(instance, "stg_customers", rows=3, version="stg-v1", duration=0.02)
        for name in ("customers_by_country", "customer_names", "customer_names_copy", "customer_ids"):
            materialize_event(instance, name, rows=3, version=f"{name}-v1", duration=0.3)
        materialize_event(instance, "country_summary", rows=2, version="cs-v1", duration=0.4)
        materialize_event(
            instance, "events_enriched", rows=1000 * (i + 1), version=f"ee-v{i}", duration=1.0 + 0.8 * i
        )
        check_event(instance, "events_enriched", "unique_event_id", passed=True, failing=0, duration=0.01)
        check_event(instance, "events_enriched", "expression", passed=True, failing=0, duration=2.5)
        check_event(instance, "raw_events", "not_null_event_id", passed=True, failing=0, duration=0.01)


def clean_history(instance: DagsterInstance, runs: int = 4) -> None:
    """Everything changes when it runs, nothing slows down, checks are cheap."""
    for i in range(runs):
        materialize_event(instance, "raw_customers", rows=3 + i, version=f"c{i}", duration=0.05)
        materialize_event(instance, "raw_events", rows=1000 * (i + 1), version=f"e{i}", duration=0.1)
        materialize_event(instance, "stg_customers", rows=3 + i, version=f"s{i}", duration=0.05)
        materialize_event(instance, "customers_by_country", rows=2, version=f"b{i}", duration=0.05)
        materialize_event(instance, "events_enriched", rows=1000 * (i + 1), version=f"x{i}", duration=0.5)
        check_event(instance, "events_enriched", "unique_event_id", passed=True, failing=0, duration=0.01)
        check_event(instance, "raw_events", "not_null_event_id", passed=True, failing=0, duration=0.01)


def instance_for(home: Path) -> DagsterInstance:
    return DagsterInstance.from_config(str(home))


@pytest.fixture
def planted(tmp_path: Path, dagster_home: Path) -> Path:
    root = make_project(tmp_path / "planted", PLANTED_SPEC)
    with instance_for(dagster_home) as instance:
        planted_history(instance)
    return root


@pytest.fixture
def clean(tmp_path: Path, dagster_home: Path) -> Path:
    root = make_project(tmp_path / "clean", CLEAN_SPEC)
    with instance_for(dagster_home) as instance:
        clean_history(instance)
    return root


def by_rule(rows: Iterable[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        out.setdefault(str(row["rule"]), []).append(row)
    return out
