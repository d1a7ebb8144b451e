"""plan --env, apply, rollback and env delete on a real project (DuckDB, DVC, Dagster instance).

Prod is built once per module; each test works on a copy of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from datacody_dagster.checks.history import file_md5
from datacody_dagster.cli.main import app
from datacody_dagster.compiler import compile_project
from datacody_dagster.envs.journal import CRASH_ENV, journal_path
from datacody_dagster.versioning.env_state import PROD, load_state, record_held
from tests.conftest import datacody_bin
from tests.envs.helpers import build_prod, edit, shop_project

AMOUNT = ("customer_id, amount, status", "customer_id, amount * 100 as amount, status")


@pytest.fixture(scope="module")
def prod_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = shop_project(tmp_path_factory.mktemp("prod") / "p", dvc=True)
    with pytest.MonkeyPatch.context() as mp:  # prod's run history stays with the template
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
    shutil.copytree(prod_template.parent / "dagster_home", home)  # prod's run history
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return root


def cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--project-dir", str(root)], catch_exceptions=False)


def prod_md5s(root: Path) -> dict[str, str | None]:
    folder = root / "data" / "warehouse" / "shop"
    return {p.name: file_md5(p) for p in sorted(folder.glob("*.parquet"))}


def test_plan_apply_rollback_delete(proj: Path, tmp_path: Path) -> None:
    before = prod_md5s(proj)
    edit(proj, *AMOUNT)
    report = tmp_path / "plan.md"
    planned = cli(proj, "plan", "--env", "dev", "--markdown", str(report))
    assert planned.exit_code == 0, planned.output
    env_dir = proj / "data" / "envs" / "dev"
    built = sorted(p.relative_to(env_dir).as_posix() for p in env_dir.rglob("*") if p.is_file())
    assert built == ["shop/orders.parquet", "shop/revenue.parquet"]  # the rest is read from prod
    assert prod_md5s(proj) == before
    text = report.read_text()
    assert "| `orders` | built | 4 | 1/1 passed | +0 -0 ~4 (amount: 4) |" in text
    assert "| `revenue` | built | 2 |  | +0 -0 ~2 (revenue: 2) |" in text  # keyed by its GROUP BY

    diffed = cli(proj, "diff", "revenue", "--env", "dev", "--json")
    assert diffed.exit_code == 0, diffed.output
    assert json.loads(diffed.output)["rows"] == {"added": 0, "removed": 0, "changed": 2}

    applied = cli(proj, "apply", "--env", "dev")
    assert applied.exit_code == 0, applied.output
    # Promoted, not recomputed: prod's next `materialize` takes them as up to date (from the
    # inputs the env run read). status_counts, reused by the plan (it reads no changed column),
    # is rebuilt there: prod's up-to-date rule follows input data versions, not column lineage.
    materialized = cli(proj, "materialize")
    assert materialized.exit_code == 0, materialized.output
    for name in ("orders", "revenue"):
        assert re.search(rf"│ {name}\s+│ up to date", materialized.output), materialized.output
    after = prod_md5s(proj)
    for name in ("orders", "revenue"):
        assert after[f"{name}.parquet"] == file_md5(env_dir / "shop" / f"{name}.parquet")
    assert {k: v for k, v in after.items() if k not in ("orders.parquet", "revenue.parquet")} == {
        k: v for k, v in before.items() if k not in ("orders.parquet", "revenue.parquet")
    }
    env_state, prod_state = load_state(proj, "dev"), load_state(proj, PROD)
    assert env_state and prod_state and prod_state.plan_id == env_state.plan_id
    assert prod_state.assets["orders"].data_version == after["orders.parquet"]
    # A Dagster event and a DVC version carry the plan id.
    import dagster as dg

    from datacody_dagster.instance import project_instance

    rec = project_instance(proj).fetch_materializations(dg.AssetKey("orders"), limit=1).records[0]
    mat = rec.asset_materialization
    assert mat is not None and mat.metadata["datacody/plan_id"].value == env_state.plan_id
    assert mat.metadata["datacody/dvc_md5"].value == after["orders.parquet"]
    assert after["orders.parquet"] in (proj / "data/warehouse/shop/orders.parquet.dvc").read_text()
    # Prod now matches the specs; the same plan cannot be applied twice.
    again = cli(proj, "plan", "--json")
    assert again.exit_code == 0 and '"rebuild": []' in again.output
    twice = cli(proj, "apply", "--env", "dev")
    assert twice.exit_code == 1 and "already applied" in twice.output

    undone = cli(proj, "rollback", "--plan", str(env_state.plan_id))
    assert undone.exit_code == 0, undone.output
    assert prod_md5s(proj) == before  # exact bytes from DVC
    replanned = cli(proj, "plan", "--json")
    assert '"rebuild": [\n    "orders",\n    "revenue"\n  ]' in replanned.output

    # One asset back to the version the plan promoted (v1: prod's materialize, v2: apply,
    # v3: rollback of the plan).
    one = cli(proj, "rollback", "orders")
    assert one.exit_code == 0, one.output
    assert prod_md5s(proj)["orders.parquet"] == after["orders.parquet"]
    planned_again = cli(proj, "plan", "--json")
    assert '"asset": "orders",\n      "group": "shop",\n      "change": "unchanged"' in planned_again.output
    undone = cli(proj, "rollback", "orders", "--to", "3")
    assert undone.exit_code == 0 and prod_md5s(proj) == before

    deleted = cli(proj, "env", "delete", "dev")
    assert deleted.exit_code == 0, deleted.output
    assert not env_dir.exists() and prod_md5s(proj) == before
    assert not (proj / "data/.datacody/envs/workspaces/dev").exists()  # its dbt project and DuckDB file
    assert cli(proj, "env", "delete", "prod").exit_code == 1


def _tree_md5s(folder: Path) -> dict[str, str | None]:
    return {p.relative_to(folder).as_posix(): file_md5(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_env_build_is_a_tagged_dagster_run_through_dbt(proj: Path) -> None:
    import dagster as dg

    from datacody_dagster.instance import project_instance
    from datacody_dagster.run_markers import ENV_BUILD_KEY, ENV_TAG
    from datacody_dagster.runtime.up_to_date import decide

    prod_files = _tree_md5s(proj / "data/warehouse")
    dvc_files = {p.name: p.read_text() for p in (proj / "data/warehouse/shop").glob("*.dvc")}
    dvc_cache = _tree_md5s(proj / ".dvc/cache")
    prod_db = file_md5(proj / "data/datacody.duckdb")
    prod_state = load_state(proj, PROD)
    (prod_run,) = [r.run_id for r in project_instance(proj).get_runs()]
    edit(proj, *AMOUNT)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 0, planned.output

    instance = project_instance(proj)
    runs = instance.get_runs(dg.RunsFilter(tags={ENV_TAG: "dev"}))
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    assert runs[0].run_id[:8] in planned.output
    records = instance.get_records_for_run(runs[0].run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    entries = [rec.event_log_entry for rec in records.records]
    mats = {
        e.asset_materialization.asset_key.to_user_string(): e.asset_materialization
        for e in entries
        if e.asset_materialization
    }
    # recorded on the environment's own keys, never on prod's
    assert sorted(mats) == ["env/dev/orders", "env/dev/revenue"]
    for key, mat in mats.items():
        name = key.rsplit("/", 1)[-1]
        assert mat is not None
        assert mat.metadata[ENV_BUILD_KEY].value == "dev"
        assert mat.tags is not None and mat.tags["dagster/data_version"] == file_md5(
            proj / f"data/envs/dev/shop/{name}.parquet"
        )
        assert mat.metadata["datacody/dbt_seconds"].value >= 0  # dbt's run result for the model
        assert mat.metadata["dagster/uri"].value.endswith(f"data/envs/dev/shop/{name}.parquet")
    # dbt wrote the env's views in the env's own DuckDB file; the reused model reads prod there.
    import duckdb

    con = duckdb.connect(str(proj / "data/.datacody/envs/workspaces/dev/datacody.duckdb"), read_only=True)
    try:
        views = dict(con.execute("select view_name, sql from duckdb_views() where not internal").fetchall())
    finally:
        con.close()
    rel = re.search(r"read_parquet\('([^']+)'", views["revenue"])
    assert rel is not None  # dbt writes it relative to its project folder
    dbt_dir = proj / "data/.datacody/envs/workspaces/dev/dbt"
    assert (dbt_dir / rel.group(1)).resolve() == (proj / "data/envs/dev/shop/revenue.parquet").resolve()
    assert str(proj / "data/warehouse/shop/status_counts.parquet") in views["status_counts"]

    # Prod is untouched: bytes, DVC files and cache, its DuckDB file, its state.
    assert _tree_md5s(proj / "data/warehouse") == prod_files
    assert {p.name: p.read_text() for p in (proj / "data/warehouse/shop").glob("*.dvc")} == dvc_files
    assert _tree_md5s(proj / ".dvc/cache") == dvc_cache
    assert file_md5(proj / "data/datacody.duckdb") == prod_db
    assert load_state(proj, PROD) == prod_state
    # The env's materializations are no prod version and no baseline of prod's checks ...
    from datacody_dagster.checks.history import DagsterCheckHistory
    from datacody_dagster.versioning.history import asset_history

    assert runs[0].run_id not in {r.run_id for r in DagsterCheckHistory(instance).records("orders", 10)}
    assert runs[0].run_id not in {v.run_id for v in asset_history(instance, dg.AssetKey("orders"))}
    assert len(asset_history(instance, dg.AssetKey("orders"))) == 1  # prod's materialize
    # ... no run of prod's in the optimizer's signals, no verdict of prod's checks ...
    from datacody_dagster.checks.verdicts import check_verdicts
    from datacody_dagster.optimizer.signals import collect_signals

    signals = collect_signals(instance, compile_project(proj).plan).of("orders")
    assert [m.run_id for m in signals.materializations] == [prod_run]
    assert [v.run_id for v in check_verdicts(instance, "orders", "unique_order_id")] == [prod_run]
    # ... and a prod check-only run judges prod's output as of prod's version, not the env's.
    from datacody_dagster.runtime.check_only import current_data_version

    node = compile_project(proj).plan.node("orders")
    assert current_data_version(instance, node) == file_md5(proj / "data/warehouse/shop/orders.parquet")
    # ... and never taken for prod's when prod decides what is up to date: prod's own build is
    # judged (against the edited spec).
    verdicts = decide(compile_project(proj), instance, ["orders"])
    assert verdicts["orders"].reason == "code changed"


def test_blocking_check_stops_readers_and_apply(proj: Path) -> None:
    edit(proj, "select id as order_id", "select 1 as order_id")  # breaks `unique: order_id`
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 1
    assert "orders: unique_order_id" in planned.output
    assert not (proj / "data/envs/dev/shop/revenue.parquet").exists()  # reader not built
    # The failed candidate is quarantined in the env, where prod's `quarantine release` never looks.
    assert [p.name for p in (proj / "data/envs/dev/.quarantine/shop/orders").glob("*.parquet")]
    assert not (proj / "data/quarantine").exists()
    # `quarantine list` shows it, labelled with the env; `publish` cannot push it into prod.
    listed = json.loads(cli(proj, "quarantine", "list", "--json").output)
    assert [(e["env"], e["asset"], e["failing_checks"]) for e in listed] == [
        ("dev", "orders", ["unique_order_id"])
    ]
    assert listed[0]["relpath"].startswith("data/envs/dev/.quarantine/shop/orders/")
    table = cli(proj, "quarantine", "list").output
    assert "dev" in table and "orders" in table and "datacody env delete" in table
    prod_orders = file_md5(proj / "data/warehouse/shop/orders.parquet")
    for verb in ("publish", "drop"):
        refused = cli(proj, "quarantine", verb, "orders")
        assert refused.exit_code == 1 and "no quarantined candidate of `orders`" in refused.output
    assert file_md5(proj / "data/warehouse/shop/orders.parquet") == prod_orders
    assert (proj / listed[0]["relpath"]).is_file()
    # `show` opens the env's candidate when asked for it, and points there when it is not.
    shown = cli(proj, "quarantine", "show", "orders", "--env", "dev")
    assert shown.exit_code == 0, shown.output
    assert "in env `dev`" in shown.output and listed[0]["relpath"] in "".join(shown.output.split())
    assert "unique_order_id" in shown.output and "order_id" in shown.output.split("failing checks")[1]
    missing = cli(proj, "quarantine", "show", "orders")
    assert missing.exit_code == 1 and "quarantine show orders --env dev" in missing.output
    assert cli(proj, "quarantine", "show", "orders", "--env", "qa").exit_code == 1
    refused = cli(proj, "apply", "--env", "dev")
    assert refused.exit_code == 1 and "failed its blocking checks" in refused.output


def test_an_env_check_failure_is_no_prod_failure(proj: Path) -> None:
    """Verdicts, incidents (false-alarm budgets) and the optimizer's signals read prod's runs only."""
    import dagster as dg

    from datacody_dagster.checks.history import DagsterCheckHistory
    from datacody_dagster.checks.verdicts import check_verdicts, verdict_of
    from datacody_dagster.instance import project_instance
    from datacody_dagster.optimizer.signals import collect_signals

    instance = project_instance(proj)
    before = collect_signals(instance, compile_project(proj).plan).of("orders")
    edit(proj, "select id as order_id", "select 1 as order_id")  # breaks `unique: order_id`
    assert cli(proj, "plan", "--env", "dev").exit_code == 1

    # The env's failing evaluation is in the instance, on the env's key ...
    key = dg.AssetCheckKey(dg.AssetKey(["env", "dev", "orders"]), "unique_order_id")
    raw = [verdict_of(r) for r in instance.event_log_storage.get_asset_check_execution_history(key, limit=10)]
    assert [v.passed for v in raw if v is not None] == [False]
    # ... and prod sees none of it: its verdicts, incidents and signals are unchanged.
    verdicts = check_verdicts(instance, "orders", "unique_order_id")
    assert [v.passed for v in verdicts] == [True]
    assert DagsterCheckHistory(instance).incident_runs("orders", "unique_order_id") == set()
    after = collect_signals(instance, compile_project(proj).plan).of("orders")
    assert after.checks == before.checks and after.materializations == before.materializations
    assert [c.passed for c in after.checks["unique_order_id"]] == [True]


def test_env_build_does_not_wait_for_prods_duckdb_writer(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The env writes its own DuckDB file: a live prod dbt step holding prod's writer pool (and
    its dbt candidate beside prod's output) neither blocks the env's run nor is touched by it."""
    import uuid

    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun

    import datacody_dagster.runtime.dead_runs as dead_runs
    from datacody_dagster.emit.dagster import DUCKDB_POOL
    from datacody_dagster.instance import project_instance
    from datacody_dagster.runtime.dead_runs import pool_holders, run_tags
    from datacody_dagster.temp_names import dbt_stage_name

    instance = project_instance(proj)
    holder = str(uuid.uuid4())  # a prod run of this (live) process, inside its dbt step
    instance.add_run(
        DagsterRun(job_name="__ASSET_JOB", run_id=holder, status=dg.DagsterRunStatus.STARTED, tags=run_tags())
    )
    storage = instance.event_log_storage
    storage.set_concurrency_slots(DUCKDB_POOL, 1)
    assert storage.claim_concurrency_slot(DUCKDB_POOL, holder, "datacody_dbt_models").is_claimed
    prod_dir = proj / "data/warehouse/shop"
    live_stage = prod_dir / dbt_stage_name("orders.parquet")  # prod's dbt candidate, being written
    live_stage.write_bytes(b"prod's dbt is writing this")
    waits: list[str] = []
    wait = dead_runs.wait_for_pool

    def short_wait(instance: Any, pool: str, timeout_s: float, say: Any = None, poll_s: float = 1.0) -> None:
        waits.append(pool)
        wait(instance, pool, 2.0, say, 0.1)  # a wait for prod's pool fails here, not in 10 minutes

    monkeypatch.setattr(dead_runs, "wait_for_pool", short_wait)
    edit(proj, *AMOUNT)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 0, planned.output
    assert waits == [f"{DUCKDB_POOL}__env_dev"]
    assert [h.run_id for h in pool_holders(instance, DUCKDB_POOL)] == [holder]
    assert live_stage.read_bytes() == b"prod's dbt is writing this"


def test_a_model_dbt_fails_on_in_the_env_is_reported_where_it_is_and_blocks_apply(proj: Path) -> None:
    edit(proj, "customer_id, amount, status", "customer_id, cast(status as integer) as amount, status")
    planned = cli(proj, "plan", "--env", "dev", "--markdown", str(proj / "plan.md"))
    assert planned.exit_code == 1
    assert "Traceback" not in planned.output
    report = (proj / "plan.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("| `orders` | failed: "))
    assert line.startswith("| `orders` | failed: asset_specs/shop.yaml:7:3: dbt error in `orders`"), line
    assert "Could not convert string 'placed' to INT32" in line
    assert not (proj / "data/envs/dev/shop/revenue.parquet").exists()  # its reader is not built
    refused = cli(proj, "apply", "--env", "dev")
    assert refused.exit_code == 1 and "failed its blocking checks" in refused.output


def test_apply_refuses_when_prod_moved_or_env_changed(proj: Path) -> None:
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    audited = proj / "data/envs/dev/shop/revenue.parquet"
    saved = audited.read_bytes()
    shutil.copy(proj / "data/warehouse/shop/revenue.parquet", audited)  # not what was audited
    tampered = cli(proj, "apply", "--env", "dev")
    assert tampered.exit_code == 1 and "changed since plan" in tampered.output
    audited.write_bytes(saved)
    project = compile_project(proj)
    record_held(project, project.plan.node("status_counts"), "0" * 32)  # someone materialized prod
    refused = cli(proj, "apply", "--env", "dev")
    assert refused.exit_code == 1 and "prod moved since plan" in refused.output


@pytest.mark.parametrize(
    ("point", "outcome"),
    [
        ("preparing", "old"),
        ("staged-1", "old"),
        ("committing", "new"),
        ("renamed-0", "new"),
        ("state-saved", "new"),
    ],
)
def test_kill_during_apply_leaves_all_old_or_all_new(proj: Path, point: str, outcome: str) -> None:
    from datacody_dagster.envs.recovery import recover_at

    before = prod_md5s(proj)
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    env = proj / "data/envs/dev/shop"
    new = dict(before, **{f"{n}.parquet": file_md5(env / f"{n}.parquet") for n in ("orders", "revenue")})
    killed = subprocess.run(
        [datacody_bin(), "apply", "--env", "dev", "--project-dir", str(proj)],
        env={**os.environ, CRASH_ENV: point, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert journal_path(proj).exists() or point == "state-saved"
    assert recover_at(proj) == ("rolled back" if outcome == "old" else "rolled forward")
    assert prod_md5s(proj) == (before if outcome == "old" else new)
    assert not journal_path(proj).exists()
    leftovers = [p.name for p in (proj / "data/warehouse/shop").iterdir() if ".apply-" in p.name]
    assert leftovers == []
    prod = load_state(proj, PROD)
    assert prod is not None
    assert prod.assets["orders"].data_version == (before if outcome == "old" else new)["orders.parquet"]


VIEWS = """\
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
assets:
  stg_orders:
    materialized: view
    sql: select id as order_id, customer_id, amount, status from raw_orders
  big_orders:
    sql: select order_id, amount from stg_orders where amount > 4
    checks:
      - unique: order_id
"""


def test_env_model_reads_a_reused_prod_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuilt model reads an unchanged DuckDB view: the env's DuckDB file recreates the view
    over prod's data, and prod's DuckDB file and outputs stay as they were."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    root = shop_project(tmp_path / "p", spec=VIEWS)
    build_prod(compile_project(root))
    prod_db = file_md5(root / "data/datacody.duckdb")
    prod_out = file_md5(root / "data/warehouse/shop/big_orders.parquet")
    edit(root, "where amount > 4", "where amount > 6")
    planned = cli(root, "plan", "--env", "dev", "--json")
    assert planned.exit_code == 0, planned.output
    assert '"rebuild": [\n    "big_orders"\n  ]' in planned.output
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute(
            f"select order_id from read_parquet('{root}/data/envs/dev/shop/big_orders.parquet') order by 1"
        ).fetchall()
    finally:
        con.close()
    assert rows == [(2,), (4,)]  # amounts 7.5 and 9.0, read through the view over prod's raw_orders
    assert file_md5(root / "data/datacody.duckdb") == prod_db
    assert file_md5(root / "data/warehouse/shop/big_orders.parquet") == prod_out


def test_a_build_that_dies_midway_is_never_applied(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The env's state says "not finished" before the run starts; only the finished build replaces it."""
    import datacody_dagster.runtime.materialize as materialize

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # as a kill would stop the run part-way

    from datacody_dagster.envs.build import build_env
    from datacody_dagster.envs.plan import build_env_plan

    project = edit(proj, *AMOUNT)
    prod = load_state(proj, PROD)
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(materialize, "materialize_project", killed)
        build_env(project, build_env_plan("dev", prod, project.plan), prod)
    state = load_state(proj, "dev")
    assert state is not None and "orders: failed" in state.blocking_failures
    refused = cli(proj, "apply", "--env", "dev")
    assert refused.exit_code == 1 and "failed its blocking checks" in refused.output


def test_env_build_is_not_prods_latest_state_to_plain_dagster_readers(proj: Path) -> None:
    """The UI, sensors and automation read an asset's latest materialization and check results
    straight from the instance: after `plan --env`, those are still prod's; the env's are on
    ``env/dev/<asset>``, with the env's lineage (revenue built from the env's orders)."""
    import dagster as dg

    from datacody_dagster.instance import project_instance
    from datacody_dagster.run_markers import ENV_TAG

    instance = project_instance(proj)
    (prod_run,) = [r.run_id for r in instance.get_runs()]
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    instance = project_instance(proj)
    (env_run,) = [r.run_id for r in instance.get_runs(dg.RunsFilter(tags={ENV_TAG: "dev"}))]
    prod_md5 = file_md5(proj / "data/warehouse/shop/orders.parquet")
    env_md5 = file_md5(proj / "data/envs/dev/shop/orders.parquet")
    assert prod_md5 != env_md5

    for name in ("orders", "revenue"):
        latest = instance.get_latest_materialization_event(dg.AssetKey(name))
        assert latest is not None and latest.run_id == prod_run, name
    mat = instance.get_latest_materialization_event(dg.AssetKey("orders")).asset_materialization
    assert mat is not None and (mat.tags or {})["dagster/data_version"] == prod_md5
    check = dg.AssetCheckKey(dg.AssetKey("orders"), "unique_order_id")
    (prod_eval,) = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
    assert prod_eval.run_id == prod_run
    summary = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])[check]
    assert summary.run_id == prod_run

    # The env's records are findable on its keys: its materializations, check results, lineage.
    env_orders = dg.AssetKey(["env", "dev", "orders"])
    latest_env = instance.get_latest_materialization_event(env_orders)
    assert latest_env is not None and latest_env.run_id == env_run
    assert (latest_env.asset_materialization.tags or {})["dagster/data_version"] == env_md5
    env_check = dg.AssetCheckKey(env_orders, "unique_order_id")
    (env_eval,) = instance.event_log_storage.get_asset_check_execution_history(env_check, limit=10)
    assert env_eval.run_id == env_run and env_eval.status.value == "SUCCEEDED"
    revenue = instance.get_latest_materialization_event(dg.AssetKey(["env", "dev", "revenue"]))
    assert revenue is not None
    tags = revenue.asset_materialization.tags or {}
    assert tags["dagster/input_data_version/env/dev/orders"] == env_md5
    assert sorted(k.to_user_string() for k in instance.get_asset_keys(prefix=["env", "dev"])) == [
        "env/dev/orders",
        "env/dev/revenue",
    ]


def test_env_records_go_with_the_envs_outputs(proj: Path) -> None:
    """A re-plan wipes the records of the env's previous build (its outputs are gone too) and
    `env delete` wipes the env's keys; prod's records are never touched."""
    import dagster as dg

    from datacody_dagster.instance import project_instance

    def env_keys() -> list[str]:
        keys = project_instance(proj).get_asset_keys(prefix=["env", "dev"])
        return sorted(k.to_user_string() for k in keys)

    instance = project_instance(proj)
    names = ("orders", "revenue")
    prod_latest = {n: instance.get_latest_materialization_event(dg.AssetKey(n)) for n in names}
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    assert env_keys() == ["env/dev/orders", "env/dev/revenue"]
    edit(proj, AMOUNT[1], AMOUNT[0])
    edit(proj, "sum(amount) as revenue", "sum(amount) as revenue, count(*) as n")  # revenue only
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    assert env_keys() == ["env/dev/revenue"]
    instance = project_instance(proj)
    assert instance.get_latest_materialization_event(dg.AssetKey(["env", "dev", "orders"])) is None
    assert cli(proj, "env", "delete", "dev").exit_code == 0
    assert env_keys() == []
    instance = project_instance(proj)
    for name, before in prod_latest.items():
        after = instance.get_latest_materialization_event(dg.AssetKey(name))
        assert after is not None and before is not None
        assert (after.run_id, after.timestamp) == (before.run_id, before.timestamp)
