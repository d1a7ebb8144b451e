"""Spark engine: same outputs as DuckDB for steps and translated SQL, and mixed graphs.

All tests share ONE local SparkSession (session fixture in conftest.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacody_dagster.compiler import compile_project
from datacody_dagster.engines.spark import materialize_sql, to_spark_sql
from datacody_dagster.engines.text_source import load_text_source
from datacody_dagster.steps.runner import run_steps_asset
from tests.conftest import REPO

pytestmark = pytest.mark.spark


def _rows(path: Path) -> list[tuple[Any, ...]]:
    """All rows of a Parquet file or hive folder, sorted, columns in name order."""
    rel = (
        f"read_parquet('{path}/**/*.parquet', hive_partitioning=true)"
        if path.is_dir()
        else f"read_parquet('{path}')"
    )
    cols = sorted(c[0] for c in duckdb.sql(f"describe select * from {rel}").fetchall())
    rows = duckdb.sql(f"select {', '.join(cols)} from {rel}").fetchall()
    return sorted(rows, key=repr)


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    def norm(v: Any) -> Any:
        return round(v, 9) if isinstance(v, float) and not math.isnan(v) else v

    return [tuple(map(norm, r)) for r in a] == [tuple(map(norm, r)) for r in b]


def _no_seconds(meta: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k != "seconds"} for s in meta["steps"]]


def test_steps_identical_on_both_engines(tmp_path: Path, spark, spark_settings, mixed_parquet) -> None:  # type: ignore[no-untyped-def]
    steps = [
        {"filter": "doc_id % 50 <> 7"},
        {"dedup": {"column": "content", "method": "minhash", "threshold": 0.7}},
        {"scan_secrets": {"columns": ["content"], "action": "redact"}},
        {"scan_pii": {"action": "flag"}},
        {"output": {"partition_by": ["part"]}},
    ]
    duck = run_steps_asset(mixed_parquet, steps, tmp_path / "duck", engine="duckdb")
    sprk = run_steps_asset(mixed_parquet, steps, tmp_path / "spark", engine="spark", spark=spark_settings)
    assert _no_seconds(duck) == _no_seconds(sprk)
    assert duck["duplicates"]["removed"] > 100 and duck["scan"]["secrets"]["rows_flagged"] > 30
    assert _same(_rows(tmp_path / "duck"), _rows(tmp_path / "spark"))
    assert sorted(p.name for p in (tmp_path / "spark").iterdir()) == ["part=a", "part=b"]
    assert not list((tmp_path / "spark").rglob("_SUCCESS")) and not list((tmp_path / "spark").rglob("*.crc"))
    # Row order inside a file is input order on both engines.
    a = pq.read_table(next((tmp_path / "duck" / "part=a").glob("*.parquet")))["doc_id"].to_pylist()
    b = pq.read_table(next((tmp_path / "spark" / "part=a").glob("*.parquet")))["doc_id"].to_pylist()
    assert a == b == sorted(a)


def test_example_corpus_identical_on_both_engines_and_mixed_graph(
    tmp_path: Path, spark, spark_settings
) -> None:  # type: ignore[no-untyped-def]
    project = compile_project(REPO)
    source, corpus = project.plan.node("stdlib_files"), project.plan.node("code_corpus")
    raw = tmp_path / "stdlib_files.parquet"
    pq.write_table(load_text_source(REPO, source.source_path or ""), raw)
    # The example's own asset on each engine.
    duck = run_steps_asset(raw, corpus.steps, tmp_path / "duck", engine="duckdb")
    sprk = run_steps_asset(raw, corpus.steps, tmp_path / "spark", engine="spark", spark=spark_settings)
    assert _no_seconds(duck) == _no_seconds(sprk)
    assert duck["duplicates"]["removed"] > 0 and duck["rows_out"] > 100
    assert _same(_rows(tmp_path / "duck"), _rows(tmp_path / "spark"))
    assert {p.name for p in (tmp_path / "spark").iterdir()} >= {"language=python", "language=text"}
    # Mixed graph: a Spark SQL asset upstream, then steps on DuckDB, then DuckDB SQL downstream.
    modules_sql = "select path, split_part(path, '/', 1) as package, content, size from stdlib_files"
    spark_modules = tmp_path / "spark_modules.parquet"
    materialize_sql(modules_sql, {"stdlib_files": raw}, spark_modules, spark_settings)
    con = duckdb.connect()
    con.sql(f"create view stdlib_files as select * from read_parquet('{raw}')")
    duck_modules = tmp_path / "duck_modules.parquet"
    con.sql(f"copy ({modules_sql}) to '{duck_modules}' (format parquet)")
    assert _same(_rows(spark_modules), _rows(duck_modules))
    steps = [{"dedup": {"method": "exact"}}, {"output": {"partition_by": ["package"]}}]
    meta = run_steps_asset(spark_modules, steps, tmp_path / "packages", engine="duckdb")
    per_package = duckdb.sql(
        f"select package, count(*) from read_parquet('{tmp_path / 'packages'}/**/*.parquet', "
        "hive_partitioning=true) group by package order by package"
    ).fetchall()
    assert ("json", 5) in per_package and sum(n for _, n in per_package) == meta["rows_out"]


QUERIES = [
    "select carrier, count(*) as n, sum(distance) as dist, avg(dep_delay) as delay "
    "from flights group by carrier",
    "select f.carrier, a.name, f.flight from flights f "
    "join airlines a on f.carrier = a.carrier where f.month = 2",
    "select carrier, flight, row_number() over (partition by carrier order by distance desc, flight) as rk "
    "from flights",
    "with late as (select * from flights where dep_delay > 10) "
    "select origin, count(*) as n from late group by 1",
    "select upper(carrier) as c, length(tailnum) as l, coalesce(dep_delay, 0) as d, "
    "make_date(2013, month, day) as dt, cast(distance as varchar) as s from flights",
    "select carrier, string_agg(distinct origin, ',' order by origin) as origins "
    "from flights group by carrier",
    "select {{ ref('flights') }}.carrier, count(*) as n from {{ ref('flights') }} group by 1",
]


@pytest.fixture(scope="module")
def sql_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sql")
    flights = pa.table(
        {
            "carrier": ["UA", "AA", "UA", "DL", "AA", "UA", "DL", "B6"],
            "flight": [1, 2, 3, 4, 5, 6, 7, 8],
            "tailnum": ["N1", "N22", None, "N4444", "N5", "N66", "N7", "N8"],
            "origin": ["EWR", "JFK", "LGA", "JFK", "EWR", "EWR", "LGA", "JFK"],
            "month": [1, 2, 2, 1, 2, 3, 2, 1],
            "day": [1, 5, 9, 12, 28, 3, 14, 30],
            "distance": [100, 2500, 733, 1000, 200, 2500, 944, 1576],
            "dep_delay": [5.0, None, 30.0, -3.0, 12.5, 0.0, 45.0, 11.0],
        }
    )
    airlines = pa.table(
        {"carrier": ["UA", "AA", "DL", "B6"], "name": ["United", "American", "Delta", "JetBlue"]}
    )
    paths = {"flights": folder / "flights.parquet", "airlines": folder / "airlines.parquet"}
    pq.write_table(flights, paths["flights"])
    pq.write_table(airlines, paths["airlines"])
    return paths


@pytest.mark.parametrize("sql", QUERIES)
def test_translated_sql_matches_duckdb(tmp_path: Path, spark, spark_settings, sql_inputs, sql: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.parquet"
    materialize_sql(sql, sql_inputs, out, spark_settings)
    assert out.is_file() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    con = duckdb.connect()
    for name, path in sql_inputs.items():
        con.sql(f"create view {name} as select * from read_parquet('{path}')")
    plain = sql.replace("{{ ref('flights') }}", "flights")
    expected = sorted(con.sql(plain).fetchall(), key=repr)
    got = duckdb.sql(f"select * from read_parquet('{out}')").fetchall()
    assert _same(sorted(got, key=repr), expected), (to_spark_sql(sql), got, expected)


def test_augment_identical_on_both_engines(tmp_path: Path, spark) -> None:  # type: ignore[no-untyped-def]
    from tests.steps.test_augment import AUGMENT, labelled_corpus

    src = labelled_corpus(tmp_path / "in.parquet")
    duck = run_steps_asset(src, [AUGMENT], tmp_path / "duck.parquet", engine="duckdb")
    sprk = run_steps_asset(src, [AUGMENT], tmp_path / "spark.parquet", engine="spark", spark=spark)
    assert duck["augmented"] == sprk["augmented"] and duck["augmented"]["rows_added"] == 34
    # Same rows in the same order (originals, then copies by class and seed order).
    assert pq.read_table(tmp_path / "spark.parquet").equals(pq.read_table(tmp_path / "duck.parquet"))
