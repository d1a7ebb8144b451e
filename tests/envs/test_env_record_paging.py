"""Prod's readers of the event log page past environment builds instead of losing prod's records.

Env builds write under prod's asset keys; with one `plan --env` per pull request, dozens of them
can follow prod's last build. Every reader must still find prod's records (a real SQLite
Dagster instance; the records are written as Dagster writes them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

from datacody_dagster.checks.history import DagsterCheckHistory
from datacody_dagster.checks.verdicts import check_verdicts
from datacody_dagster.compiler import compile_project
from datacody_dagster.optimizer.signals import collect_signals
from datacody_dagster.run_markers import ENV_BUILD_KEY, ENV_TAG
from datacody_dagster.runtime.check_only import current_data_version
from tests.envs.helpers import shop_project

ENV_BUILDS = 60
ORDERS = dg.AssetKey("orders")
CHECK = dg.AssetCheckKey(ORDERS, "unique_order_id")


def _run(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    run = DagsterRun(job_name="__ASSET_JOB", status=DagsterRunStatus.SUCCESS, tags=tags)
    instance.add_run(run)
    return run.run_id


def _report(instance: dg.DagsterInstance, run_id: str, event_type: DagsterEventType, data: Any) -> None:
    instance.report_dagster_event(
        DagsterEvent(event_type_value=event_type.value, event_specific_data=data, job_name="__ASSET_JOB"),
        run_id=run_id,
    )


def _build(instance: dg.DagsterInstance, version: str, env: str | None, passed: bool) -> str:
    """One run's materialization of `orders` (data version ``version``) and its check verdict."""
    run_id = _run(instance, {ENV_TAG: env} if env else {})
    metadata: dict[str, Any] = {ENV_BUILD_KEY: env} if env else {}
    tags = {"dagster/data_version": version, "dagster/input_data_version/raw_orders": f"in-{version}"}
    mat = dg.AssetMaterialization(ORDERS, metadata=metadata, tags=tags)
    _report(instance, run_id, DagsterEventType.ASSET_MATERIALIZATION, StepMaterializationData(mat))
    evaluation = dg.AssetCheckEvaluation(asset_key=ORDERS, check_name=CHECK.name, passed=passed)
    _report(instance, run_id, DagsterEventType.ASSET_CHECK_EVALUATION, evaluation)
    return run_id


@pytest.fixture
def instance(tmp_path: Path) -> Any:
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as inst:
        yield inst


def test_sixty_env_builds_after_prods_last_do_not_hide_it(tmp_path: Path, instance: Any) -> None:
    from datacody_dagster.envs.apply import _built_from

    prod_run = _build(instance, "prod-v1", None, passed=True)
    for i in range(ENV_BUILDS):
        _build(instance, f"env-{i}", "dev" if i == 0 else "staging", passed=False)

    # Calibrated-check baselines: prod's record, not an empty history.
    records = DagsterCheckHistory(instance).records("orders", 10)
    assert [(r.run_id, r.data_version) for r in records] == [(prod_run, "prod-v1")]
    # Verdict budgets: prod's passing verdict, none of the 60 failing env ones.
    verdicts = check_verdicts(instance, "orders", "unique_order_id")
    assert [(v.run_id, v.passed) for v in verdicts] == [(prod_run, True)]
    # A check-only run judges prod's data version.
    plan = compile_project(shop_project(tmp_path / "p")).plan
    assert current_data_version(instance, plan.node("orders")) == "prod-v1"
    # The optimizer's signals: prod's run.
    signals = collect_signals(instance, plan).of("orders")
    assert [m.run_id for m in signals.materializations] == [prod_run]
    # apply finds the inputs of dev's build, 59 builds of another env later.
    assert _built_from(instance, "orders", "dev", "env-0") == {
        "dagster/input_data_version/raw_orders": "in-env-0"
    }
