"""Issue 19: planned-but-skipped check evaluations are no verdict for every reader of check history.

One real project, materialized four times: a clean run, two runs where `stg_in`'s `not_null`
fails, three in total with the next, then a run where `raw_in`'s blocking `row_count` fails so
`stg_in` is skipped and its checks stay *planned* in the event log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datacody_dagster.checks.ci import run_project_checks
from datacody_dagster.checks.history import DagsterCheckHistory
from datacody_dagster.checks.selection import select_nodes
from datacody_dagster.checks.suggest import repeated_failures, suggest_checks
from datacody_dagster.checks.verdicts import check_verdicts
from datacody_dagster.compiler import compile_project
from tests.conftest import write_project

pytestmark = pytest.mark.slow

SPEC = """\
group: g
sources:
  raw_in:
    path: data/raw/in.csv
    checks:
      - row_count: {max: %d}
assets:
  stg_in:                          # a steps asset: no dbt start-up, so the fixture stays fast
    from: raw_in
    steps:
      - filter: "id > 0"
    checks:
      - {not_null: [carrier], severity: warn}   # warn: a failing batch is still published
      - {drift: {column: id}, severity: warn}
      - {row_count_anomaly: {}, severity: warn}
"""
CLEAN = "id,carrier\n" + "".join(f"{i},{'AA' if i % 2 else 'BB'}\n" for i in range(1, 31))
NULLS = "id,carrier\n" + "".join(f"{i},{'AA' if i % 3 else ''}\n" for i in range(1, 31 + 1))


@pytest.fixture(scope="module")
def skipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(
        tmp_path_factory.mktemp("skipped") / "p",
        {"g.yaml": SPEC % 100},
        {"data/raw/in.csv": CLEAN},
        dvc=False,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(root / ".dagster_home"))
        (root / ".dagster_home").mkdir()
        (root / ".dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        assert materialize_project(root).success
        for n in range(3):  # three failing verdicts of not_null_carrier (distinct data each time)
            (root / "data/raw/in.csv").write_text(NULLS + "".join(f"{99 + k},AA\n" for k in range(n)))
            summary = materialize_project(root)
            assert [r.status for r in summary.rows] == ["materialized", "materialized"]
            assert "failed: not_null_carrier" in summary.rows[1].checks
        (root / "asset_specs/g.yaml").write_text(SPEC % 1)
        summary = materialize_project(root)
        assert [(r.asset, r.status) for r in summary.rows] == [
            ("raw_in", "quarantined"),
            ("stg_in", "skipped"),
        ]
        yield root


def _instance(root: Path):  # type: ignore[no-untyped-def]
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(root / ".dagster_home"))


def test_the_skipped_run_left_a_planned_record(skipped: Path) -> None:
    from dagster import AssetCheckKey, AssetKey
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    inst = _instance(skipped)
    records = inst.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey(["stg_in"]), "not_null_carrier"), limit=10
    )
    assert records[0].status == AssetCheckExecutionRecordStatus.PLANNED
    verdicts = check_verdicts(inst, "stg_in", "not_null_carrier")
    assert [v.passed for v in verdicts] == [False, False, False, True]
    assert verdicts[0].failing_rows == 10


def test_repeated_failures_span_the_skipped_run(skipped: Path) -> None:
    project = compile_project(skipped)
    node = select_nodes(project, ["stg_in"])[0]
    failures = repeated_failures(_instance(skipped), node)
    assert [(f.check, f.times) for f in failures] == [("not_null_carrier", 3)]
    assert "null values in carrier" in failures[0].reason


def test_suggest_checks_cli_exits_zero(skipped: Path) -> None:
    from typer.testing import CliRunner

    from datacody_dagster.cli.main import app

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(skipped / ".dagster_home"))
        result = CliRunner().invoke(app, ["suggest-checks", "stg_in", "--project-dir", str(skipped)])
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "repeated failure" in result.output and "failed 3 times" in result.output


def test_suggestions_read_history_past_the_skipped_run(skipped: Path) -> None:
    project = compile_project(skipped)
    node = select_nodes(project, ["stg_in"])[0]
    inst = _instance(skipped)
    report = suggest_checks(project, node, history=DagsterCheckHistory(inst), instance=inst)
    assert report.repeated_failures and report.suggestions


def test_drift_and_anomaly_baselines_ignore_the_skipped_run(skipped: Path) -> None:
    from datacody_dagster.checks import evaluate_checks
    from datacody_dagster.checks.targets import target_for

    project = compile_project(skipped)
    node = select_nodes(project, ["stg_in"])[0]
    history = DagsterCheckHistory(_instance(skipped))
    assert len(history.records("stg_in", 10)) == 4  # four materializations, the skipped run made none
    checks = [c for c in node.checks if c.kind in {"drift", "row_count_anomaly"}]
    outcomes = evaluate_checks(target_for(project, node), checks, history=history)
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    anomaly = next(o for o in outcomes if o.check.kind == "row_count_anomaly")
    # the learned band needs more history; what it counted are the real materializations only
    assert anomaly.passed and int(anomaly.metadata["note"].split()[0]) in (3, 4), anomaly.metadata


def test_optimizer_signals_count_only_verdicts(skipped: Path) -> None:
    from datacody_dagster.optimizer.signals import collect_signals

    project = compile_project(skipped)
    signals = collect_signals(_instance(skipped), project.plan)
    verdicts = signals.of("stg_in").checks["not_null_carrier"]
    assert [s.passed for s in verdicts] == [True, False, False, False]
    assert signals.of("stg_in").runs == 4


def test_check_command_reuses_the_last_real_verdict(skipped: Path) -> None:
    project = compile_project(skipped)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(skipped / ".dagster_home"))
        outcomes = run_project_checks(project, select_nodes(project, ["stg_in"]))
    by_name = {o.check.name: o for o in outcomes}
    # the data under check is the third failing batch: the skipped run did not make it pass
    assert not by_name["not_null_carrier"].passed and by_name["not_null_carrier"].failing_rows == 10
    assert all(o.error is None for o in outcomes)
