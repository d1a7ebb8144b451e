"""Write-audit-publish per writer kind, and checks run on their own (no materialization)."""

from __future__ import annotations

import json
import subprocess

import dagster as dg
import pytest

from datacody_dagster.runtime.check_only import NO_OUTPUT
from datacody_dagster.runtime.quarantine import list_entries
from datacody_dagster.versioning.history import asset_history
from tests.conftest import datacody_bin
from tests.wap.conftest import ALL_CHECKS, GOOD, Shop, check_selection, md5

pytestmark = pytest.mark.slow


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def _versions(shop: Shop, asset: str) -> list[str]:
    return [v.hash for v in asset_history(shop.instance(), dg.AssetKey(asset))]


def test_check_only_before_any_output_fails_each_selected_check(shop: Shop) -> None:
    evals = _evaluations(shop.before_any_output)
    assert set(evals) == set(ALL_CHECKS)
    for ev in evals.values():
        assert not ev.passed
        assert ev.description == NO_OUTPUT
    assert shop.before_any_output.get_asset_materialization_events() == []


def test_check_only_run_evaluates_the_selection_and_writes_nothing(shop: Shop) -> None:
    before = shop.snapshot()
    versions = {a: _versions(shop, a) for a in ("raw_orders", "stg_orders", "scores", "clean_orders")}
    result = shop.run(check_selection(*ALL_CHECKS))
    assert result.success
    evals = _evaluations(result)
    # exactly the selected checks (not the warn row_count of stg_orders), all passing
    assert set(evals) == set(ALL_CHECKS)
    assert all(ev.passed for ev in evals.values())
    assert result.get_asset_materialization_events() == []
    assert shop.snapshot() == before  # bytes and mtime of every output unchanged
    for asset, hashes in versions.items():
        assert _versions(shop, asset) == hashes
        # reported against the current output's data version
        ev = evals[next(k for k in ALL_CHECKS if k[0] == asset)]
        assert ev.target_materialization_data is not None
        latest = shop.instance().get_latest_materialization_event(dg.AssetKey(asset))
        assert latest is not None and ev.target_materialization_data.run_id == latest.run_id

    one = shop.run(check_selection(("stg_orders", "range_amount")))
    assert set(_evaluations(one)) == {("stg_orders", "range_amount")}


def test_planted_bad_source_is_quarantined_and_output_stays(shop: Shop) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    raw = shop.root / "data" / "raw" / "orders.csv"
    before, versions = shop.snapshot(), _versions(shop, "raw_orders")
    raw.write_text("id,customer_id,amount\n1,1,10\n,2,5\n")
    try:
        summary = materialize_project(shop.root, select="raw_orders")
    finally:
        raw.write_text(GOOD)
    assert not summary.success
    assert any("not_null_id" in e for e in summary.errors)
    assert [r.status for r in summary.rows] == ["quarantined"]
    assert shop.snapshot() == before
    assert _versions(shop, "raw_orders") == versions
    entry = list_entries_of(shop, "raw_orders")
    assert entry["failing_checks"] == ["not_null_id"] and entry["rows"] == 2


def list_entries_of(shop: Shop, asset: str) -> dict[str, object]:
    from datacody_dagster.compiler import compile_project

    entries = list_entries(compile_project(shop.root), asset)
    assert len(entries) == 1, entries
    assert entries[0].path(shop.root).is_file()
    return entries[0].__dict__


def test_planted_bad_batch_for_dbt_python_and_steps(shop: Shop) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    raw = shop.root / "data" / "raw" / "orders.csv"
    factor = shop.root / "data" / "raw" / "factor.txt"
    before = shop.snapshot()
    versions = {a: _versions(shop, a) for a in ("stg_orders", "scores", "clean_orders", "order_totals")}
    # valid for the source's own check; negative for stg_orders, too large for clean_orders
    raw.write_text("id,customer_id,amount\n1,1,10\n2,2,-5\n3,1,700\n")
    factor.write_text("-1\n")  # negative scores
    summary = materialize_project(shop.root)
    status = {r.asset: r.status for r in summary.rows}
    assert status == {
        "raw_orders": "materialized",
        "stg_orders": "quarantined",
        "order_totals": "skipped",
        "scores": "quarantined",
        "clean_orders": "quarantined",
    }
    after = shop.snapshot()
    for asset in ("stg_orders", "order_totals", "scores", "clean_orders"):
        assert after[asset] == before[asset], asset  # byte-identical, not even touched
        assert _versions(shop, asset) == versions[asset]
    for asset, check in (
        ("stg_orders", "range_amount"),
        ("scores", "range_score"),
        ("clean_orders", "range_amount"),
    ):
        entry = list_entries_of(shop, asset)
        assert entry["failing_checks"] == [check] and entry["rows"] == 3
    assert not list((shop.root / "data" / "warehouse").rglob("*.tmp"))  # no candidate left beside outputs

    # dbt's view still reads the published output (downstream reads and checks stay correct)
    checks_only = shop.run(check_selection(("stg_orders", "range_amount")))
    assert all(e.passed for e in checks_only.get_asset_check_evaluations())

    # A forced publish makes the candidate current and records it as forced.
    candidate = shop.root / str(list_entries_of(shop, "scores")["relpath"])
    expected = md5(candidate)
    out = subprocess.run(
        [datacody_bin(), "quarantine", "publish", "scores", "-p", str(shop.root)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert md5(shop.output("scores")) == expected
    hashes = _versions(shop, "scores")
    assert hashes[0] == expected and hashes[1:] == versions["scores"]
    latest = shop.instance().get_latest_materialization_event(dg.AssetKey("scores"))
    assert latest is not None and latest.asset_materialization is not None
    assert latest.asset_materialization.metadata["datacody/forced_publish"].value is True
    listed = subprocess.run(
        [datacody_bin(), "quarantine", "list", "--json", "-p", str(shop.root)], capture_output=True, text=True
    )
    assert {e["asset"] for e in json.loads(listed.stdout)} == {"raw_orders", "stg_orders", "clean_orders"}


def test_scheduled_check_runs_alone(shop: Shop) -> None:
    from datacody_dagster.definitions import build_definitions

    defs = build_definitions(shop.root)
    schedule = defs.get_schedule_def("clean_orders__row_count_check_schedule")
    assert schedule.cron_schedule == "0 * * * *"
    before = shop.snapshot()
    job = defs.resolve_job_def(schedule.job_name)
    result = job.execute_in_process(instance=shop.instance())
    assert result.success
    evals = result.get_asset_check_evaluations()
    assert [(e.asset_key.to_user_string(), e.check_name, e.passed) for e in evals] == [
        ("clean_orders", "row_count", True)
    ]
    assert result.get_asset_materialization_events() == []
    assert shop.snapshot() == before
