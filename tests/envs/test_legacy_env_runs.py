"""An instance written before env builds had their own keys: its env runs are removed once, and
an env built that way is refused by `apply` until re-planned (real project, DuckDB, Dagster)."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from datacody_dagster.checks.history import file_md5
from datacody_dagster.cli.main import app
from datacody_dagster.compiler import compile_project
from datacody_dagster.versioning.env_state import load_state, save_state
from tests.envs.helpers import build_prod, edit, shop_project

AMOUNT = ("customer_id, amount, status", "customer_id, amount * 100 as amount, status")


@pytest.fixture(scope="module")
def prod_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = shop_project(tmp_path_factory.mktemp("prod") / "p", dvc=True)
    with pytest.MonkeyPatch.context() as mp:
        home = root.parent / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        mp.setenv("DAGSTER_HOME", str(home))
        build_prod(compile_project(root))
    return root


@pytest.fixture
def proj(prod_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "p"
    shutil.copytree(prod_template, root, symlinks=True)
    home = tmp_path / "dagster_home"
    shutil.copytree(prod_template.parent / "dagster_home", home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return root


def cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--project-dir", str(root)], catch_exceptions=False)


def raw_instance(home: Path) -> Any:
    """The instance without datacody's opening (so without the migration)."""
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(home))


def forget_migration(home: Path) -> None:
    """The instance as an older datacody left it: no marker file, no marker in its storage."""
    from dagster._core.storage.runs.schema import KeyValueStoreTable

    from datacody_dagster.legacy_env_runs import MARKER, STORAGE_KEY

    (home / MARKER).unlink(missing_ok=True)
    with raw_instance(home) as instance, instance.run_storage.connect() as conn:
        conn.execute(KeyValueStoreTable.delete().where(KeyValueStoreTable.c.key == STORAGE_KEY))


def old_style_env(root: Path, home: Path, name: str) -> str:
    """Env ``name`` as an older datacody left it: outputs and state like `dev`'s, its build run
    tagged ``datacody/env`` with its materializations and check results on prod's keys."""
    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.storage.dagster_run import DagsterRun

    from datacody_dagster.run_markers import ENV_BUILD_KEY, ENV_TAG

    shutil.copytree(root / "data/envs/dev", root / f"data/envs/{name}")
    dev = load_state(root, "dev")
    assert dev is not None
    moved = {
        k: replace(v, path=v.path.replace("data/envs/dev/", f"data/envs/{name}/")) if v.path else v
        for k, v in dev.assets.items()
    }
    save_state(root, replace(dev, name=name, assets=moved))

    run_id = str(uuid.uuid4())
    with raw_instance(home) as instance:
        instance.add_run(
            DagsterRun(
                job_name="__ASSET_JOB",
                run_id=run_id,
                status=dg.DagsterRunStatus.SUCCESS,
                tags={ENV_TAG: name},
            )
        )
        for asset in dev.promote:
            md5 = file_md5(root / f"data/envs/{name}/shop/{asset}.parquet")
            mat = dg.AssetMaterialization(
                asset_key=dg.AssetKey([asset]),
                metadata={ENV_BUILD_KEY: name, "datacody/dvc_md5": md5},
                tags={"dagster/data_version": md5},
            )
            instance.report_dagster_event(
                DagsterEvent(
                    event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                    job_name="__ASSET_JOB",
                    event_specific_data=StepMaterializationData(mat),
                ),
                run_id=run_id,
            )
        evaluation = dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(["orders"]), check_name="unique_order_id", passed=False, metadata={}
        )
        instance.report_dagster_event(
            DagsterEvent(
                event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION.value,
                job_name="__ASSET_JOB",
                event_specific_data=evaluation,
            ),
            run_id=run_id,
        )
    return run_id


def test_legacy_env_runs_are_removed_once_and_their_env_must_be_replanned(proj: Path, tmp_path: Path) -> None:
    import dagster as dg

    from datacody_dagster.checks.history import DagsterCheckHistory
    from datacody_dagster.checks.verdicts import check_verdicts
    from datacody_dagster.instance import project_instance
    from datacody_dagster.legacy_env_runs import MARKER
    from datacody_dagster.run_markers import ENV_TAG
    from datacody_dagster.versioning.history import asset_history

    home = tmp_path / "dagster_home"
    with raw_instance(home) as instance:
        (prod_run,) = [r.run_id for r in instance.get_runs()]
    edit(proj, *AMOUNT)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 0, planned.output
    legacy = old_style_env(proj, home, "old")
    forget_migration(home)  # an instance written before this change has no marker

    with raw_instance(home) as instance:  # what readers saw before the migration
        latest = instance.get_latest_materialization_event(dg.AssetKey(["orders"]))
        assert latest is not None and latest.run_id == legacy
        assert legacy in {v.run_id for v in check_verdicts(instance, "orders", "unique_order_id")}
        (dev_run,) = [r.run_id for r in instance.get_runs(dg.RunsFilter(tags={ENV_TAG: "dev"}))]

    first = cli(proj, "history", "orders")
    assert first.exit_code == 0, first.output
    assert "removed 1 environment build run recorded on prod's asset keys" in first.output
    assert "one-time clean-up" in first.output and "the events of 2 environment build runs" in first.output
    assert "datacody plan --env old" in first.output
    assert (home / MARKER).read_text(encoding="utf-8") == f"old {legacy}\n"

    instance = project_instance(proj)
    assert instance.get_run_by_id(legacy) is None
    assert instance.get_run_by_id(dev_run) is not None  # a build on its own keys stays
    assert instance.get_latest_materialization_event(dg.AssetKey(["env", "dev", "orders"])) is not None
    latest = instance.get_latest_materialization_event(dg.AssetKey(["orders"]))
    assert latest is not None and latest.run_id == prod_run
    assert [v.run_id for v in asset_history(instance, dg.AssetKey(["orders"]))] == [prod_run]
    assert [v.run_id for v in check_verdicts(instance, "orders", "unique_order_id")] == [prod_run]
    assert {r.run_id for r in DagsterCheckHistory(instance).records("orders", 10)} == {prod_run}
    from datacody_dagster.optimizer.signals import collect_signals

    signals = collect_signals(instance, compile_project(proj).plan).of("orders")
    assert [m.run_id for m in signals.materializations] == [prod_run]

    again = cli(proj, "history", "orders")
    assert again.exit_code == 0 and "removed" not in again.output  # said once
    from datacody_dagster.legacy_env_runs import migrate

    (home / MARKER).unlink()  # the file only caches the storage's marker: no second pass
    said: list[str] = []
    assert migrate(instance, home, said.append) is None and said == []
    assert (home / MARKER).read_text(encoding="utf-8") == f"old {legacy}\n"
    forget_migration(home)
    assert migrate(instance, home, said.append) is not None  # idempotent: nothing left to remove
    assert len(said) == 1 and "reading the events of 1 environment build run " in said[0]

    prod_files = {p.name: file_md5(p) for p in (proj / "data/warehouse/shop").glob("*.parquet")}
    refused = cli(proj, "apply", "--env", "old")
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert "data/.datacody/envs/old.json" in text and "older datacody" in text
    assert "re-plan: `datacody plan --env old`" in text and "Traceback" not in text
    assert {p.name: file_md5(p) for p in (proj / "data/warehouse/shop").glob("*.parquet")} == prod_files

    applied = cli(proj, "apply", "--env", "dev")  # a build recorded on its own keys applies as before
    assert applied.exit_code == 0, applied.output
    assert file_md5(proj / "data/warehouse/shop/orders.parquet") == file_md5(
        proj / "data/envs/dev/shop/orders.parquet"
    )


def test_a_migration_interrupted_after_a_delete_still_repoints_prods_latest(tmp_path: Path) -> None:
    """Ctrl-C between a ``delete_run`` and the re-pointing: the next pass (no marker yet) points
    prod's cached latest materialization back at prod's run, though that run is gone already."""
    import uuid

    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.storage.dagster_run import DagsterRun

    from datacody_dagster.legacy_env_runs import MARKER, migrate, stored_marker
    from datacody_dagster.run_markers import ENV_TAG

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    instance = dg.DagsterInstance.from_config(str(home))

    def run(tags: dict[str, str], key: str) -> str:
        run_id = str(uuid.uuid4())
        status = dg.DagsterRunStatus.SUCCESS
        instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=status, tags=tags))
        data = StepMaterializationData(dg.AssetMaterialization(asset_key=dg.AssetKey([key])))
        kind = DagsterEventType.ASSET_MATERIALIZATION.value
        event = DagsterEvent(event_type_value=kind, job_name="__ASSET_JOB", event_specific_data=data)
        instance.report_dagster_event(event, run_id=run_id)
        return run_id

    prod = run({}, "orders")
    run({ENV_TAG: "old"}, "customers")
    run({ENV_TAG: "old"}, "orders")
    real = instance.delete_run
    calls: list[str] = []

    def interrupted(run_id: str) -> None:
        calls.append(run_id)
        real(run_id)
        if len(calls) == 1:
            raise KeyboardInterrupt

    instance.delete_run = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        migrate(instance, home)
    instance.delete_run = real  # type: ignore[method-assign]
    assert stored_marker(instance) is None and not (home / MARKER).exists()  # not marked done
    assert migrate(instance, home) is not None
    assert stored_marker(instance) is not None and (home / MARKER).exists()
    orders = instance.get_latest_materialization_event(dg.AssetKey(["orders"]))
    assert orders is not None and orders.run_id == prod
    assert instance.get_latest_materialization_event(dg.AssetKey(["customers"])) is None
