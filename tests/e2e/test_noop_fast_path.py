"""A rerun with nothing to do: answered from the instance's files, without Dagster, and no run.

(The CLI side, no run created and no Dagster imported, is in test_up_to_date.py.) The fast path
must agree with the verdicts taken inside a run (Dagster's own reader of the event
log), and step aside whenever it cannot be sure (an unfinished run, a wipe, custom storage).
Real DuckDB, dbt, DVC and Dagster's SQLite instance.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import write_project

pytestmark = pytest.mark.slow

SPEC = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
assets:
  stg_orders:
    materialized: view
    sql: select id as order_id, customer_id, amount from raw_orders
    checks:
      - unique: order_id
  totals:
    sql: select customer_id, sum(amount) as revenue from stg_orders group by customer_id
    checks:
      - {row_count: {min: 1}, severity: warn}
"""
ORDERS = "id,customer_id,amount\n1,1,10\n2,2,5\n"
ALL = ["raw_orders", "stg_orders", "totals"]


def _both_ways(root: Path) -> tuple[dict[str, object], dict[str, object] | None]:
    """Verdicts through Dagster's instance, and through the file reader (None: it stepped aside)."""
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.instance import dagster_home_path, project_instance
    from datacody_dagster.runtime.event_log_snapshot import latest_materializations
    from datacody_dagster.runtime.up_to_date import decide, decide_from_records

    project = compile_project(root)
    through_dagster = decide(project, project_instance(root), ALL)
    records = latest_materializations(dagster_home_path(root), ALL)
    through_files = None if records is None else decide_from_records(project, ALL, records)
    return dict(through_dagster), None if through_files is None else dict(through_files)


def test_file_reader_agrees_with_dagster_and_steps_aside_when_unsure(
    tmp_path: Path, dagster_home: Path
) -> None:
    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun

    from datacody_dagster.compiler import compile_project
    from datacody_dagster.instance import project_instance
    from datacody_dagster.runtime.event_log_snapshot import latest_materializations
    from datacody_dagster.runtime.materialize import materialize_project
    from datacody_dagster.runtime.noop import up_to_date_summary

    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": ORDERS})
    never, never_files = _both_ways(root)
    assert never_files == never  # no instance files yet: never materialized, both ways
    assert materialize_project(root).success

    dagster_view, files_view = _both_ways(root)
    assert files_view == dagster_view
    assert not any(v.rebuild for v in dagster_view.values())  # type: ignore[attr-defined]
    summary = up_to_date_summary(compile_project(root), None)
    assert summary is not None and summary.run_id is None
    assert [(r.asset, r.status, r.rows) for r in summary.rows] == [
        ("raw_orders", "up to date", 2),
        ("stg_orders", "up to date", 2),
        ("totals", "up to date", 2),
    ]
    assert up_to_date_summary(compile_project(root), "totals") is None  # selections: Dagster's parser

    # an output deleted by hand
    (root / "data/warehouse/shop/totals.parquet").unlink()
    dagster_view, files_view = _both_ways(root)
    assert files_view == dagster_view
    assert {n for n, v in dagster_view.items() if v.rebuild} == {"totals"}  # type: ignore[attr-defined]
    assert up_to_date_summary(compile_project(root), None) is None

    # same size, mtime put back: the content hash decides, in both readers
    orders = root / "data/raw/orders.csv"
    before = orders.stat()
    orders.write_text(ORDERS.replace("10", "90"))
    os.utime(orders, ns=(before.st_atime_ns, before.st_mtime_ns))
    dagster_view, files_view = _both_ways(root)
    assert files_view == dagster_view
    assert {n for n, v in dagster_view.items() if v.rebuild} == set(ALL)  # type: ignore[attr-defined]

    # storage configured in dagster.yaml: not the default files
    cfg = dagster_home / "dagster.yaml"
    default = cfg.read_text()
    assert latest_materializations(dagster_home, ALL) is not None
    cfg.write_text(default + f"storage:\n  sqlite:\n    base_dir: {dagster_home / 'history'}\n")
    assert latest_materializations(dagster_home, ALL) is None
    cfg.write_text(default)

    # a run that has not finished (live, or dead and not yet marked failed): Dagster's path decides
    instance = project_instance(root)
    run_id = str(uuid.uuid4())
    instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=dg.DagsterRunStatus.STARTED))
    assert latest_materializations(dagster_home, ALL) is None
    instance.report_run_failed(instance.get_run_by_id(run_id))  # type: ignore[arg-type]
    assert latest_materializations(dagster_home, ALL) is not None

    # a wiped asset: Dagster filters the records older than the wipe
    instance.wipe_assets([dg.AssetKey(["totals"])])
    assert latest_materializations(dagster_home, ALL) is None
