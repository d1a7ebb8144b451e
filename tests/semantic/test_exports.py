"""`exports:`: a saved metric query materialized as an asset through real MetricFlow and Dagster.

One copy of the example per module (MetricFlow and dbt are slow to start): the export is
materialized once with what it reads, then compared with `datacody metrics query` and with
hand-written SQL, re-run (up to date), and finally made to fail a blocking check.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from datacody_dagster.compiler import compile_project
from datacody_dagster.emit.files import sync_generated_files
from datacody_dagster.runtime.materialize import MaterializeSummary, materialize_project
from tests.conftest import copy_example

EXPORT = "monthly_carrier_departures"
CHECKS = {
    "unique_carrier__metric_time__month",
    "not_null_carrier",
    "not_null_metric_time__month",
    "not_null_departures",
    "range_cancellation_rate",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example (its outputs are built by the first run, through Dagster)."""
    root = copy_example(tmp_path_factory.mktemp("exports"))
    sync_generated_files(compile_project(root))
    return root


@pytest.fixture(scope="module")
def first_run(project: Path) -> MaterializeSummary:
    """The export and everything it reads (stg_flights' relationships check reads stg_airlines)."""
    return materialize_project(project, select=f"+key:{EXPORT} or +key:stg_airlines")


def _output(root: Path) -> Path:
    return root / "data" / "warehouse" / "flights" / f"{EXPORT}.parquet"


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value[:10]
    if isinstance(value, (decimal.Decimal, int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _same_rows(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra, rb, strict=True):
            x, y = _norm(x), _norm(y)
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def test_export_materializes_with_its_checks_and_a_dvc_version(
    project: Path, first_run: MaterializeSummary
) -> None:
    from datacody_dagster.checks.verdicts import check_verdicts
    from datacody_dagster.instance import project_instance

    assert first_run.success, first_run.errors
    built = [r.asset for r in first_run.rows if r.status == "materialized"]
    assert built == ["raw_airlines", "raw_flights", "stg_airlines", "stg_flights", EXPORT]
    row = next(r for r in first_run.rows if r.asset == EXPORT)
    assert row.status == "materialized" and row.rows == 16 * 12 - 7  # carriers do not all fly each month
    assert row.checks == "5/5 passed"
    assert _output(project).is_file()
    columns = duckdb.sql(f"select * from '{_output(project)}' limit 0").columns
    assert tuple(columns) == compile_project(project).plan.node(EXPORT).columns
    assert (project / "data" / "warehouse" / "flights" / f"{EXPORT}.parquet.dvc").is_file()
    instance = project_instance(project)
    for check in CHECKS:
        verdicts = check_verdicts(instance, EXPORT, check)
        assert verdicts and verdicts[0].passed, check
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey([EXPORT]))
    assert event is not None and event.asset_materialization is not None
    meta = event.asset_materialization.metadata
    md5 = hashlib.md5(_output(project).read_bytes()).hexdigest()
    assert meta["datacody/dvc_md5"].value == md5
    assert meta["datacody/saved_query"].value["metrics"] == ["departures", "cancellation_rate"]
    assert "stg_flights" in meta["datacody/metricflow_sql"].value
    assert meta["dagster/row_count"].value == row.rows


def test_export_equals_metrics_query_and_hand_written_sql(
    project: Path, first_run: MaterializeSummary
) -> None:
    assert first_run.success, first_run.errors
    exported = duckdb.sql(
        f"select carrier, metric_time__month, departures, cancellation_rate from '{_output(project)}'"
    ).fetchall()
    args = ["metrics", "query", "-m", "departures,cancellation_rate", "-g", "carrier,month"]
    done = CliRunner().invoke(app, [*args, "--order", "carrier,month", "--json", "-p", str(project)])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    queried = [
        (r["carrier"], r["metric_time__month"], r["departures"], r["cancellation_rate"]) for r in doc["rows"]
    ]
    assert _same_rows(exported, queried)
    flights = project / "data" / "warehouse" / "flights" / "stg_flights.parquet"
    hand = duckdb.sql(
        f"""
        select carrier, date_trunc('month', flight_date) as month, count(*) as departures,
               sum(case when cancelled then 1 else 0 end)::double / count(*) as cancellation_rate
        from '{flights}' group by all order by carrier, month
        """
    ).fetchall()
    assert _same_rows(exported, hand)


def test_an_unchanged_export_is_not_rebuilt(project: Path, first_run: MaterializeSummary) -> None:
    assert first_run.success, first_run.errors
    before = _output(project).stat().st_mtime_ns
    again = materialize_project(project, select=EXPORT)
    assert [(r.asset, r.status) for r in again.rows] == [(EXPORT, "up to date")]
    assert _output(project).stat().st_mtime_ns == before


def test_a_failing_blocking_check_quarantines_the_export_and_keeps_the_published_file(
    project: Path, first_run: MaterializeSummary
) -> None:
    assert first_run.success, first_run.errors
    spec = project / "asset_specs" / "flights.yaml"
    text = spec.read_text(encoding="utf-8")
    anchor = "      - range: {column: cancellation_rate, min: 0, max: 1}\n"
    assert anchor in text
    spec.write_text(text.replace(anchor, anchor + "      - row_count: {max: 10}\n"), encoding="utf-8")
    published = hashlib.md5(_output(project).read_bytes()).hexdigest()
    try:
        run = materialize_project(project, select=EXPORT)
    finally:
        spec.write_text(text, encoding="utf-8")
    row = next(r for r in run.rows if r.asset == EXPORT)
    assert row.status == "quarantined", run.rows
    assert not run.success and any("row_count" in e for e in run.errors), run.errors
    assert hashlib.md5(_output(project).read_bytes()).hexdigest() == published
    quarantined = list((project / "data" / "quarantine" / "flights" / EXPORT).glob("*.parquet"))
    assert len(quarantined) == 1
    assert duckdb.sql(f"select count(*) from '{quarantined[0]}'").fetchall()[0][0] == 16 * 12 - 7


def test_the_code_location_shows_the_export_in_its_group_with_its_deps_and_checks() -> None:
    import dagster as dg

    from datacody_dagster.definitions import build_definitions
    from tests.conftest import REPO

    defs = build_definitions(REPO)
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == dg.AssetKey([EXPORT]))
    assert spec.group_name == "flights" and spec.owners == ["team:data-platform"]
    assert {d.asset_key.to_user_string() for d in spec.deps} == {"stg_flights"}
    assert "metricflow" in spec.kinds
    assert spec.code_version == compile_project(REPO).plan.node(EXPORT).fingerprint
    graph = defs.resolve_asset_graph()
    checks = {k.name for k in graph.asset_check_keys if k.asset_key == dg.AssetKey([EXPORT])}
    assert checks == CHECKS
    assert all(graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey([EXPORT]), c)).blocking for c in checks)


def _fingerprint(tmp_path: Path, old: str = "", new: str = "") -> str:
    from tests.conftest import REPO

    root = tmp_path / f"p{len(list(tmp_path.iterdir()))}"
    shutil.copytree(REPO / "asset_specs", root / "asset_specs")
    shutil.copytree(REPO / "resources", root / "resources")
    shutil.copytree(REPO / "examples", root / "examples")
    spec = root / "asset_specs" / "flights.yaml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    return compile_project(root).plan.node(EXPORT).fingerprint


def test_the_fingerprint_follows_the_saved_query_and_the_definitions_it_reads(tmp_path: Path) -> None:
    base = _fingerprint(tmp_path)
    # layout and comments: same code version (no rebuild)
    assert _fingerprint(tmp_path, "group_by: [carrier, month]", "group_by: [ carrier,  month ]  # hi") == base
    # the query, a metric it reads (through the ratio) and a measure behind it: new code version
    where = "order_by: [carrier, month]\n    where: \"origin = 'JFK'\""
    assert _fingerprint(tmp_path, "order_by: [carrier, month]", where) != base
    assert _fingerprint(tmp_path, "    measure: cancelled_count", "    measure: flight_count") != base
    assert _fingerprint(tmp_path, 'expr: "case when cancelled then 1 else 0 end"', 'expr: "1"') != base
    # a metric it does not read: unchanged
    assert _fingerprint(tmp_path, "    measure: dep_delay_avg", "    measure: arr_delay_avg") == base


def test_the_export_is_emitted_as_a_dbt_saved_query(tmp_path: Path) -> None:
    import yaml

    from datacody_dagster.emit.semantic import emit_semantic_files

    where = "order_by: [carrier, month]\n    where: \"origin = 'JFK' and airline_name <> 'x'\""
    _fingerprint(tmp_path, "order_by: [carrier, month]", where)
    root = sorted(tmp_path.iterdir())[-1]
    files = emit_semantic_files(compile_project(root))
    doc = yaml.safe_load(files["models/datacody/flights/_flights__semantic.yml"])
    assert doc["saved_queries"] == [
        {
            "name": EXPORT,
            "description": "Departures and cancellation rate per carrier and month",
            "query_params": {
                "metrics": ["departures", "cancellation_rate"],
                "group_by": ["Entity('carrier')", "TimeDimension('metric_time', 'month')"],
                "where": [
                    "{{ Dimension('flight__origin') }} = 'JFK' AND "
                    "{{ Dimension('carrier__airline_name') }} <> 'x'"
                ],
            },
            "exports": [{"name": EXPORT, "config": {"export_as": "table"}}],
        }
    ]
    assert compile_project(root).plan.node(EXPORT).deps == ("stg_flights", "stg_airlines")


SHOP = """\
assets:
  orders:
    sql: select 1 as order_id, date '2024-01-01' as ordered_at, 'FR' as country, 9.5 as amount
    semantic:
      entities: {order: {type: primary, expr: order_id}}
      dimensions: {ordered_at: {type: time}, country: {}}
      measures: {revenue_total: {agg: sum, expr: amount}}
metrics:
  revenue: {measure: revenue_total}
exports:
  revenue_by_country:
    metrics: [revenue]
    group_by: [country]
    automation: eager
  daily_revenue:
    metrics: [revenue]
    group_by: [day]
    schedule: "0 6 * * *"
"""


def test_an_export_refreshes_on_upstream_change_or_on_its_schedule(tmp_path: Path) -> None:
    import dagster as dg

    from datacody_dagster.definitions import build_definitions
    from tests.conftest import write_project

    defs = build_definitions(write_project(tmp_path, {"shop.yaml": SHOP}, dvc=False))
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    assert specs["revenue_by_country"].automation_condition is not None
    assert specs["daily_revenue"].automation_condition is None
    schedule = defs.resolve_schedule_def("daily_revenue_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert {d.asset_key for d in specs["daily_revenue"].deps} == {dg.AssetKey(["orders"])}


def test_an_export_that_reads_a_duckdb_view_waits_for_the_writers(tmp_path: Path) -> None:
    import dagster as dg

    from datacody_dagster.definitions import build_definitions
    from datacody_dagster.emit.dagster import DUCKDB_POOL, WRITER_TAG
    from tests.conftest import write_project

    spec = SHOP.replace("  orders:\n    sql:", "  orders:\n    materialized: view\n    sql:")
    defs = build_definitions(write_project(tmp_path, {"shop.yaml": spec}, dvc=False))
    graph = defs.resolve_asset_graph()
    for name in ("revenue_by_country", "daily_revenue"):
        node = graph.assets_def_for_key(dg.AssetKey([name])).node_def
        assert node.tags.get(WRITER_TAG) == "duckdb" and node.pool == DUCKDB_POOL, name
    on_parquet = build_definitions(write_project(tmp_path / "parquet", {"shop.yaml": SHOP}, dvc=False))
    node = on_parquet.resolve_asset_graph().assets_def_for_key(dg.AssetKey(["daily_revenue"])).node_def
    assert WRITER_TAG not in node.tags and node.pool is None  # Parquet only: runs in parallel


def test_a_changed_export_is_built_in_an_environment_and_prod_stays(
    project: Path, first_run: MaterializeSummary
) -> None:
    assert first_run.success, first_run.errors
    spec = project / "asset_specs" / "flights.yaml"
    text = spec.read_text(encoding="utf-8")
    anchor = "    order_by: [carrier, month]\n"
    assert anchor in text
    published = hashlib.md5(_output(project).read_bytes()).hexdigest()
    spec.write_text(text.replace(anchor, anchor + "    where: \"carrier = 'UA'\"\n"), encoding="utf-8")
    try:
        planned = CliRunner().invoke(
            app, ["plan", "--env", "dev", "--project-dir", str(project)], catch_exceptions=False
        )
    finally:
        spec.write_text(text, encoding="utf-8")
    assert planned.exit_code == 0, planned.output
    built = project / "data" / "envs" / "dev" / "flights" / f"{EXPORT}.parquet"
    carriers = duckdb.sql(f"select distinct carrier from '{built}'").fetchall()
    assert carriers == [("UA",)]
    assert hashlib.md5(_output(project).read_bytes()).hexdigest() == published
