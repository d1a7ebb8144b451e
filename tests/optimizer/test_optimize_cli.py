"""`datacody optimize` on planted inefficiencies (each found, with evidence) and on a clean project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from datacody_dagster.cli import optimize_cmd, proposals_cmd
from datacody_dagster.compiler import diagnose
from datacody_dagster.errors import Severity
from tests.optimizer.conftest import by_rule

runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    optimize_cmd.register(app)
    proposals_cmd.register(app)
    return app


def optimize_json(root: Path) -> list[dict[str, object]]:
    result = runner.invoke(cli(), ["optimize", "--json", "--no-llm", "-p", str(root)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_planted_inefficiencies_are_each_found_with_evidence(planted: Path) -> None:
    rows = optimize_json(planted)
    for row in rows:
        assert {"id", "rule", "asset", "patch", "rationale", "evidence"} <= set(row)
    rules = by_rule(rows)

    [dup] = rules["duplicate_computation"]
    assert {dup["asset"], dup["patch"]["into"]} == {"customer_names", "customer_names_copy"}
    assert dup["evidence"]["duplicate_of"] == dup["patch"]["into"]

    [view] = rules["view_read_by_many"]
    assert view["asset"] == "stg_customers"
    assert view["patch"] == {"op": "set_materialization", "materialized": "table"}
    assert view["evidence"]["downstream_readers"] == 4

    [sched] = rules["schedule_more_frequent_than_data"]
    assert sched["asset"] == "country_summary"
    assert sched["patch"]["op"] == "set_automation" and sched["patch"]["automation"] == "eager"
    assert sched["evidence"]["runs_per_day"] == 24
    assert sched["evidence"]["data_version_changes"] == 0
    assert sched["evidence"]["runs_observed"] == 5

    [costly] = rules["check_never_fails_costly"]
    assert costly["asset"] == "events_enriched"
    assert costly["patch"] == {"op": "remove_check", "check": "expression"}
    assert costly["evidence"]["failures"] == 0 and costly["evidence"]["mean_duration_s"] == 2.5

    [inc] = rules["full_refresh_over_append_only"]
    assert inc["asset"] == "events_enriched"
    assert inc["patch"] == {"op": "set_incremental", "unique_key": ["event_id"], "cursor": "event_at"}
    assert inc["evidence"]["raw_events_row_counts"] == [1000, 2000, 3000, 4000, 5000]
    assert inc["evidence"]["duration_growth"] > 4

    # Stored as open proposals, nothing applied.
    listed = runner.invoke(cli(), ["proposals", "list", "--json", "-p", str(planted)])
    stored = json.loads(listed.stdout)
    assert {r["id"] for r in stored} == {r["id"] for r in rows}
    assert {r["status"] for r in stored} == {"open"}


def test_clean_project_gets_no_proposal(clean: Path) -> None:
    assert optimize_json(clean) == []
    result = runner.invoke(cli(), ["optimize", "--no-llm", "-p", str(clean)])
    assert result.exit_code == 0
    assert "No proposals" in result.stdout


def test_proposal_ids_are_stable_and_not_duplicated(planted: Path) -> None:
    first = optimize_json(planted)
    second = optimize_json(planted)
    assert [r["id"] for r in first] == [r["id"] for r in second]
    assert all(r["new"] for r in first) and not any(r["new"] for r in second)


def test_applying_each_proposal_gives_a_valid_spec(planted: Path) -> None:
    rows = optimize_json(planted)
    spec = planted / "asset_specs" / "shop.yaml"
    for row in rows:
        before = spec.read_text()
        result = runner.invoke(cli(), ["proposals", "apply", str(row["id"]), "-p", str(planted)])
        assert result.exit_code == 0, (row, result.output)
        assert "+++ b/asset_specs/shop.yaml" in result.stdout or spec.read_text() == before
        _, diags = diagnose(planted)
        assert not [d for d in diags if d.severity == Severity.ERROR]
    text = spec.read_text()
    # comments and layout survive
    assert "# Planted inefficiencies" in text and "# every hour" not in text  # schedule line replaced
    assert "# append-only export" in text and "# the same query as customer_names" in text
    assert "materialized: incremental" in text and "cursor: event_at" in text
    assert "automation: eager" in text and "schedule:" not in text
    assert "expression: amount >= 0" not in text
    stored = json.loads(runner.invoke(cli(), ["proposals", "list", "--json", "-p", str(planted)]).stdout)
    assert {r["status"] for r in stored} == {"applied"}


@pytest.mark.slow
def test_applied_proposals_materialize(planted: Path) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    for row in optimize_json(planted):
        assert runner.invoke(cli(), ["proposals", "apply", str(row["id"]), "-p", str(planted)]).exit_code == 0
    summary = materialize_project(planted)
    assert summary.success, summary.errors
    rows = {r.asset: r.rows for r in summary.rows}
    assert rows["customer_names_copy"] == rows["customer_names"] == 3
    assert rows["events_enriched"] == 3


def test_apply_refuses_and_rolls_back_an_invalid_result(planted: Path) -> None:
    from datacody_dagster.optimizer.model import Proposal, SetSql
    from datacody_dagster.optimizer.store import ProposalStore

    bad = Proposal(
        rule="manual",
        asset="customer_ids",
        patch=SetSql(sql="select nope from missing_asset"),
        rationale="test",
    )
    ProposalStore(planted / "proposals").add(bad)
    spec = planted / "asset_specs" / "shop.yaml"
    before = spec.read_text()
    result = runner.invoke(cli(), ["proposals", "apply", bad.id, "-p", str(planted)])
    assert result.exit_code == 1 and "not applied" in result.output and "Traceback" not in result.output
    assert spec.read_text() == before
    listed = json.loads(runner.invoke(cli(), ["proposals", "list", "--json", "-p", str(planted)]).stdout)
    assert [r["status"] for r in listed if r["id"] == bad.id] == ["open"]
    rejected = runner.invoke(cli(), ["proposals", "reject", bad.id, "-p", str(planted)])
    assert rejected.exit_code == 0
    assert runner.invoke(cli(), ["proposals", "apply", bad.id, "-p", str(planted)]).exit_code == 1
