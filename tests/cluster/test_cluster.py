"""Spark assets, steps and checks on real clusters: a standalone master + 2 workers, Spark Connect.

Each test runs once per mode (the module fixture `cluster` starts one cluster, then the other).
Outputs must equal the DuckDB outputs of the same work; faults must end in a finished step or a
clear error naming the URL, with the previous output intact.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacody_dagster.engines.spark import SparkUnreachable, cluster_errors, session_config, spark_session
from tests.cluster.conftest import TIMEOUT_S, Cluster
from tests.conftest import write_project
from tests.steps.planted import dup_corpus, scan_corpus

pytestmark = [pytest.mark.spark, pytest.mark.cluster]

STEPS = [
    {"filter": "doc_id % 50 <> 7"},
    {"dedup": {"column": "content", "method": "minhash", "threshold": 0.7}},
    {"scan_secrets": {"columns": ["content"], "action": "redact"}},
    {"scan_pii": {"action": "flag"}},
    {"code_quality": {"column": "content", "min_lines": 1}},
    {"augment": {"label": "part", "target_share": 0.45, "near_duplicates": {"column": "content"}}},
    {"output": {"partition_by": ["part"]}},
]


def _rows(path: Path) -> list[tuple[Any, ...]]:
    rel = (
        f"read_parquet('{path}/**/*.parquet', hive_partitioning=true)"
        if path.is_dir()
        else f"read_parquet('{path}')"
    )
    cols = sorted(c[0] for c in duckdb.sql(f"describe select * from {rel}").fetchall())
    return sorted(duckdb.sql(f"select {', '.join(cols)} from {rel}").fetchall(), key=repr)


def _corpus(path: Path, copies: int = 1) -> Path:
    dups, scan = dup_corpus().table, scan_corpus().table
    content = pa.concat_arrays([dups["content"].combine_chunks(), scan["content"].combine_chunks()] * copies)
    n = len(content)
    table = pa.table(
        {
            "doc_id": pa.array(range(n)),
            "content": content,
            "part": pa.array(["a" if i % 3 else "b" for i in range(n)]),
        }
    )
    pq.write_table(table, path)
    return path


def _digest(path: Path) -> str:
    h = hashlib.md5()
    for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if f.is_file():
            h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def test_sql_and_steps_identical_to_duckdb(cluster: Cluster, tmp_path: Path) -> None:
    from datacody_dagster.engines.spark import materialize_sql
    from datacody_dagster.steps.runner import run_steps_asset

    spark = spark_session(cluster.settings)
    if cluster.mode == "standalone":
        assert spark.sparkContext.master == cluster.url
    else:
        assert type(spark).__module__.startswith("pyspark.sql.connect")

    src = _corpus(tmp_path / "corpus.parquet")
    duck = run_steps_asset(src, STEPS, tmp_path / "duck", engine="duckdb")
    sprk = run_steps_asset(src, STEPS, tmp_path / "spark", engine="spark", spark=spark)
    strip = [{k: v for k, v in s.items() if k != "seconds"} for s in sprk["steps"]]
    assert strip == [{k: v for k, v in s.items() if k != "seconds"} for s in duck["steps"]]
    assert duck["duplicates"]["removed"] > 100
    assert _rows(tmp_path / "duck") == _rows(tmp_path / "spark")
    assert sorted(p.name for p in (tmp_path / "spark").iterdir()) == ["part=a", "part=b"]
    # No staging leftovers beside the output (the folder swap happened after the executors wrote).
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    sql = """
        select c.part, count(*) as docs, sum(length(c.content)) as chars, max(d.doc_id) as last_doc
        from corpus c join corpus d on c.doc_id = d.doc_id
        group by c.part
    """
    out = tmp_path / "agg.parquet"
    materialize_sql(sql, {"corpus": src}, out, spark)
    expected = duckdb.sql(sql.replace("corpus c", f"'{src}' c").replace("corpus d", f"'{src}' d")).fetchall()
    assert sorted(pq.read_table(out).to_pylist(), key=repr) == sorted(
        [dict(zip(["part", "docs", "chars", "last_doc"], r, strict=True)) for r in expected], key=repr
    )
    if cluster.mode == "standalone":  # the work ran in executor JVMs on both workers
        apps = cluster.procs.state()["activeapps"]  # type: ignore[union-attr]
        assert any(a["name"] == "datacody" and a["cores"] == 2 for a in apps), apps  # type: ignore[index]


SPEC = """\
group: shop
sources:
  raw_customers: {path: data/raw/customers.csv}
  raw_orders: {path: data/raw/orders.csv}
  raw_docs: {path: data/raw/docs.parquet}
assets:
  stg_orders:
    sql: select id as order_id, customer_id, status, amount from raw_orders
  revenue:
    engine: ENGINE
    sql: |
      select c.name, count(*) as orders, sum(o.amount) as amount
      from stg_orders o join raw_customers c on o.customer_id = c.id
      group by c.name
    checks:
      - unique: name
      - not_null: [name]
      - {range: {column: amount, min: 0}, severity: warn}
      - {row_count: {min: 1}}
  top_customer:
    sql: select name from revenue order by amount desc limit 1
  docs_clean:
    engine: ENGINE
    from: raw_docs
    steps:
      - dedup: {column: content, method: minhash, threshold: 0.7}
      - scan_secrets: {columns: [content], action: redact}
"""
CUSTOMERS = "id,name\n1,Ada\n2,Grace\n3,Edsger\n"
ORDERS = "id,customer_id,status,amount\n" + "".join(
    f"{i},{i % 3 + 1},placed,{i * 1.5}\n" for i in range(1, 200)
)


def _project(root: Path, engine: str, resources: str) -> Path:
    write_project(
        root,
        {"shop.yaml": SPEC.replace("ENGINE", engine)},
        {"data/raw/customers.csv": CUSTOMERS, "data/raw/orders.csv": ORDERS},
    )
    with (root / "resources" / "dev.yaml").open("a", encoding="utf-8") as fh:
        fh.write(resources)
    _corpus(root / "data" / "raw" / "docs.parquet")
    return root


def test_mixed_duckdb_spark_project_on_the_cluster(
    cluster: Cluster, tmp_path: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from datacody_dagster.runtime.materialize import materialize_project

    monkeypatch.setenv("DC_TEST_SPARK_URL", cluster.url)
    on_spark = _project(tmp_path / "spark", "spark", cluster.yaml())
    summary = materialize_project(on_spark)
    assert summary.success, summary.errors
    on_duck = _project(tmp_path / "duck", "duckdb", "")
    assert materialize_project(on_duck).success

    for asset in ("revenue", "top_customer", "docs_clean"):
        got, want = (p / "data" / "warehouse" / "shop" / f"{asset}.parquet" for p in (on_spark, on_duck))
        assert _rows(got) == _rows(want), asset
        assert (on_spark / "data" / "warehouse" / "shop" / f"{asset}.parquet.dvc").is_file()  # DVC

    instance = dg.DagsterInstance.get()
    evals = {
        r.dagster_event.event_specific_data.check_name: r.dagster_event.event_specific_data  # type: ignore[union-attr]
        for r in instance.all_logs(summary.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    }
    assert sorted(evals) == ["not_null_name", "range_amount", "row_count", "unique_name"]
    assert all(ev.passed for ev in evals.values()), evals


def _run_in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def _busy(cluster: Cluster, spark: Any, since: int) -> bool:
    """Tasks are running on the cluster (standalone: the status tracker; Connect: the server log)."""
    if cluster.mode == "standalone":
        tracker = spark.sparkContext.statusTracker()
        return any(
            (info := tracker.getStageInfo(s)) is not None and info.numActiveTasks > 0
            for s in tracker.getActiveStageIds()
        )
    log = cluster.procs.proc.log.read_text(errors="replace")  # type: ignore[union-attr]
    return log.count("Submitting") > since


def test_fault_mid_step_finishes_or_fails_clearly_keeping_the_previous_output(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Standalone: one worker JVM (and its executor) is SIGKILLed mid-step; Spark retries on the
    other worker and the step finishes. Connect: the server is SIGKILLed mid-step; the step fails
    within the timeout naming the URL, and the previous output is untouched."""
    from datacody_dagster.steps.runner import run_steps_asset

    spark = spark_session(cluster.settings)
    config = session_config(cluster.settings)
    # The fault must land while tasks run: a machine fast enough to finish first gets more data.
    for copies in (4, 16, 64):
        src = _corpus(tmp_path / f"corpus-{copies}.parquet", copies=copies)
        out = tmp_path / f"out-{copies}"
        run_steps_asset(src, [{"filter": "doc_id % 2 = 0"}, *STEPS], out, engine="spark", spark=spark)
        before = _digest(out)
        since = (
            cluster.procs.proc.log.read_text(errors="replace").count("Submitting")  # type: ignore[union-attr]
            if cluster.mode == "connect"
            else 0
        )

        def work(src: Path = src, out: Path = out) -> Any:
            with cluster_errors(config, cluster.settings.connect_timeout_s):
                return run_steps_asset(src, STEPS, out, engine="spark", spark=spark)

        thread, box = _run_in_thread(work)
        deadline = time.monotonic() + 300
        while not _busy(cluster, spark, since) and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        if thread.is_alive():
            break
        thread.join()
    assert thread.is_alive(), f"the step ended before the fault even on {copies} copies: {box}"
    killed_at = time.monotonic()
    if cluster.mode == "standalone":
        cluster.procs.workers[0].kill()  # type: ignore[union-attr]
    else:
        cluster.procs.proc.kill()  # type: ignore[union-attr]
    thread.join(600)
    assert not thread.is_alive(), "the step hung after the fault"
    if cluster.mode == "standalone":
        assert "error" not in box, box.get("error")  # retried on the surviving worker
        duck = run_steps_asset(src, STEPS, tmp_path / "duck", engine="duckdb")
        assert _rows(out) == _rows(tmp_path / "duck")
        assert box["result"]["rows_out"] == duck["rows_out"]
    else:
        error = box.get("error")
        assert isinstance(error, SparkUnreachable), repr(error)
        assert cluster.url in str(error) and "did not answer" in str(error)
        # Bounded: the client's retries are capped near connect_timeout_s (+ the probe).
        assert time.monotonic() - killed_at < 3 * cluster.settings.connect_timeout_s + 30
        assert _digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_master_without_room_for_executors_fails_instead_of_waiting(cluster: Cluster) -> None:
    """Executors asking for more memory than any worker has: the session fails naming the master
    (in a child process: this one already has its SparkContext)."""
    if cluster.mode == "connect":  # a Connect server owns its executors: nothing to ask for
        assert session_config(cluster.settings).keys() >= {"spark.remote"}
        return
    import subprocess
    import sys

    code = (
        "from datacody_dagster.config import SparkSettings\n"
        "from datacody_dagster.engines.spark import spark_session\n"
        f"spark_session(SparkSettings(master={cluster.url!r}, connect_timeout_s=5, "
        "conf={'spark.executor.memory': '4g', 'spark.driver.memory': '512m'}))\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert f"the Spark master {cluster.url} gave this application no executor within 60 s" in done.stderr
    assert time.monotonic() - started < 400  # session start (slow on a shared machine) + 60 s


def test_stopped_cluster_fails_the_run_naming_the_url_without_hanging(
    cluster: Cluster, tmp_path: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    cluster.procs.stop()  # the master (and workers) / the Connect server
    monkeypatch.setenv("DC_TEST_SPARK_URL", cluster.url)
    resources = cluster.yaml().replace(f"connect_timeout_s: {TIMEOUT_S}", "connect_timeout_s: 5.0")
    root = _project(tmp_path / "p", "spark", resources)
    started = time.monotonic()
    summary = materialize_project(root, select="revenue")
    elapsed = time.monotonic() - started
    assert not summary.success
    text = "\n".join(summary.errors)
    assert cluster.url in text and "did not answer within 5 s" in text, text
    assert "Traceback" not in text
    assert elapsed < 60, elapsed  # 5 s of waiting plus Dagster and the DuckDB source steps
    assert not (root / "data" / "warehouse" / "shop" / "revenue.parquet").exists()
