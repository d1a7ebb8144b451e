"""The compiled semantic layer through real dbt + MetricFlow, checked against hand-written SQL."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from datacody_dagster.compiler import CompiledProject
from datacody_dagster.semantic.query import MetricQuery, run_query
from tests.conftest import BIN

runner = CliRunner()

FLIGHTS = "read_parquet('{root}/data/warehouse/flights/stg_flights.parquet')"
AIRLINES = "read_parquet('{root}/data/warehouse/flights/stg_airlines.parquet')"

# metric -> the aggregate a person would write over stg_flights
HAND_AGGREGATES = {
    "departures": "count(*)",
    "cancelled_flights": "sum(case when cancelled then 1 else 0 end)",
    "cancellation_rate": "sum(case when cancelled then 1 else 0 end)::double / count(*)",
    "average_delay": "avg(dep_delay)",
    "average_arrival_delay": "avg(arr_delay)",
    "distance_flown": "sum(distance)",
    "active_planes": "count(distinct tailnum)",
    "completed_flights": "count(*) - sum(case when cancelled then 1 else 0 end)",
    "jfk_departures": "count(*) filter (where origin = 'JFK')",
}
GROUPS = {"carrier": "carrier", "origin": "origin", "day": "flight_date"}


def _hand(root: Path, aggregate: str, key: str) -> dict[Any, Any]:
    sql = f"select {key} as k, {aggregate} as v from {FLIGHTS.format(root=root)} group by 1"
    return {_key(k): v for k, v in duckdb.sql(sql).fetchall()}


def _key(value: Any) -> Any:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a == b or (a in (None, 0) and b in (None, 0))
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def test_compiled_yaml_parses_with_dbt_and_passes_mf_validate_configs(warehouse_project: Path) -> None:
    dbt_dir = warehouse_project / "dbt_project"
    done = subprocess.run(
        [str(BIN / "mf"), "validate-configs"], cwd=dbt_dir, capture_output=True, text=True, timeout=600
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "Successfully validated the semantics of built manifest (ERRORS: 0" in out
    assert "Successfully validated metrics against data warehouse (ERRORS: 0" in out
    assert "Breaking issues" not in out


@pytest.mark.parametrize("metric", sorted(HAND_AGGREGATES))
def test_each_example_metric_equals_hand_written_sql(
    metric: str, engine: Any, warehouse_project: Path
) -> None:
    for group, key in GROUPS.items():
        result = run_query(engine, MetricQuery(metrics=[metric], group_by=[group]))
        got = {_key(row[0]): row[1] for row in result.rows}
        want = _hand(warehouse_project, HAND_AGGREGATES[metric], key)
        want = {k: v for k, v in want.items() if v is not None or metric != "jfk_departures"}
        if metric == "jfk_departures":  # MetricFlow drops the groups the filter empties
            want = {k: v for k, v in want.items() if v}
        assert set(got) == set(want), (metric, group, set(got) ^ set(want))
        bad = [k for k in want if not _same(got[k], want[k])]
        assert not bad, (metric, group, [(k, got[k], want[k]) for k in bad[:5]])


def test_cumulative_metric_is_a_trailing_seven_day_sum(engine: Any, warehouse_project: Path) -> None:
    result = run_query(engine, MetricQuery(metrics=["weekly_departures"], group_by=["day"]))
    got = {_key(r[0]): r[1] for r in result.rows}
    flights = FLIGHTS.format(root=warehouse_project)
    want = dict(
        duckdb.sql(
            f"with days as (select distinct flight_date as d from {flights}) "
            f"select d, (select count(*) from {flights} where flight_date > d - 7 and flight_date <= d) "
            "from days"
        ).fetchall()
    )
    assert want and all(got[d] == n for d, n in want.items()), [(d, got.get(d), n) for d, n in want.items()][
        :3
    ]


def test_joined_dimension_filter_order_and_limit(engine: Any, warehouse_project: Path) -> None:
    q = MetricQuery(
        metrics=["departures"],
        group_by=["airline_name"],
        where="origin = 'JFK'",
        order_by=["-departures"],
        limit=3,
    )
    result = run_query(engine, q)
    want = duckdb.sql(
        f"select a.airline_name, count(*) as n from {FLIGHTS.format(root=warehouse_project)} f "
        f"join {AIRLINES.format(root=warehouse_project)} a using (carrier) where f.origin = 'JFK' "
        "group by 1 order by n desc limit 3"
    ).fetchall()
    assert result.columns == ["carrier__airline_name", "departures"]
    assert [tuple(r) for r in result.rows] == want
    assert "WHERE" in result.sql and "JFK" in result.sql


def test_cli_query_prints_a_table_json_and_sql(warehouse_project: Path, compiled: CompiledProject) -> None:
    args = ["metrics", "query", "-p", str(warehouse_project), "--metrics", "departures,cancellation_rate"]
    res = runner.invoke(
        app, [*args, "--group-by", "origin", "--order", "-departures", "--limit", "2", "--json"]
    )
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.output)
    assert [r["flight__origin"] for r in doc["rows"]] == ["EWR", "JFK"]
    assert doc["rows"][0]["departures"] == 120835 and "SELECT" in doc["sql"]
    res = runner.invoke(app, [*args, "--group-by", "origin", "--sql"])
    assert res.exit_code == 0 and "SELECT" in res.output and "flight__origin" in res.output


def test_cli_query_with_unknown_names_exits_1_with_the_closest_names(warehouse_project: Path) -> None:
    res = runner.invoke(
        app, ["metrics", "query", "-p", str(warehouse_project), "-m", "departure", "-g", "orign"]
    )
    assert res.exit_code == 1
    assert "unknown metric `departure`" in res.output and "did you mean `departures`?" in res.output
    assert "unknown dimension `orign`" in res.output and "did you mean `origin`?" in res.output
    assert "Traceback" not in res.output


def test_metrics_list(warehouse_project: Path) -> None:
    res = runner.invoke(app, ["metrics", "list", "-p", str(warehouse_project), "--json"])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.output)
    names = {m["name"] for m in doc["metrics"]}
    assert {"departures", "cancellation_rate", "average_delay"} <= names
    shorts = {g["short"]: g["name"] for g in doc["group_by"]}
    assert shorts["origin"] == "flight__origin" and shorts["day"] == "metric_time__day"
    assert shorts["carrier"] == "carrier"


def test_queries_run_while_a_writer_holds_the_duckdb_file(warehouse_project: Path) -> None:
    import sys
    import time

    db = warehouse_project / "data" / "datacody.duckdb"
    script = (
        f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException):  # the lock is real: a second process cannot open it
            duckdb.connect(str(db), read_only=True)
        started = time.perf_counter()
        res = runner.invoke(
            app, ["metrics", "query", "-p", str(warehouse_project), "-m", "departures", "--json"]
        )
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["rows"] == [{"departures": 336776}]
        assert time.perf_counter() - started < 60
    finally:
        holder.kill()
        holder.wait()
