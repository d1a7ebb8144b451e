"""Run-time walls behind validation: what a spec cannot do even when it gets past `validate`.

The fast probes call the runtime pieces directly with input validation would have refused
(a symlink swapped in after validate, a check or filter written by hand, a project module
that re-exports ``os.system``). The slow ones share one project: a real `datacody materialize`
(views, external Parquet and checks still work inside the sandbox, the fake API key lands
nowhere), then a hand-written dbt model that tries to read the environment and COPY outside.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from datacody_dagster.compiler import compile_project
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.errors import DatacodyError
from tests.confine.attacks import FAKE_KEY
from tests.conftest import datacody_bin, write_project

SPEC = """\
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
    checks:
      - not_null: [id]
assets:
  stg_orders:
    materialized: view
    sql: select id as order_id, amount, status from raw_orders
    checks:
      - unique: order_id
      - expression: amount >= 0
      - sql: select * from stg_orders where amount > 1000
  order_totals:
    sql: select status, sum(amount) as total from stg_orders group by status
    checks:
      - accepted_values: {column: status, values: [placed, shipped]}
"""
CSV = "id,amount,status\n1,10.5,placed\n2,3.0,shipped\n"


def _project(root: Path) -> Path:
    return write_project(root, {"shop.yaml": SPEC}, {"data/raw/orders.csv": CSV}, dvc=False)


def test_symlink_swapped_in_after_validate_is_refused_at_load(tmp_path: Path) -> None:
    from datacody_dagster.runtime.sources import load_source

    root = _project(tmp_path / "p")
    project = compile_project(root)  # valid now
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("id,amount,status\n9,9,leaked\n", encoding="utf-8")
    raw = root / "data" / "raw" / "orders.csv"
    raw.unlink()
    raw.symlink_to(secret)
    with pytest.raises(DatacodyError, match="resolves outside the project"):
        load_source(project, project.plan.node("raw_orders"))
    assert not project.output_path(project.plan.node("raw_orders")).exists()


def test_check_sql_runs_confined(tmp_path: Path) -> None:
    from datacody_dagster.checks.engine import evaluate
    from datacody_dagster.checks.targets import target_for
    from datacody_dagster.runtime.sources import load_source

    root = _project(tmp_path / "p")
    project = compile_project(root)
    node = project.plan.node("raw_orders")
    load_source(project, node)
    target = target_for(project, node)
    assert target.sandbox is not None
    evil = [
        PlannedCheck(
            "raw_orders", "evil_read", "sql", {"sql": "select * from read_text('/etc/passwd')"}, "error", ""
        ),
        PlannedCheck(
            "raw_orders",
            "evil_env",
            "expression",
            {"expression": "(select count(*) from read_text('/proc/self/environ')) > 0"},
            "error",
            "",
        ),
        PlannedCheck("raw_orders", "fine", "not_null", {"column": "id"}, "error", ""),
    ]
    outcomes = evaluate(target, evil)
    assert not outcomes[0].passed and "Permission" in (outcomes[0].error or "")
    assert not outcomes[1].passed and "Permission" in (outcomes[1].error or "")
    assert outcomes[2].passed  # reading the asset's own Parquet still works


def test_filter_step_predicate_is_rerendered_and_touches_no_file() -> None:
    from datacody_dagster.engines.sandbox import confined_connection
    from datacody_dagster.spec.steps import FilterArgs
    from datacody_dagster.steps.filter import run_arrow

    table = pa.table({"a": [1, 2]})
    out, _ = run_arrow(table, FilterArgs(predicate="a > 1"))
    assert out.num_rows == 1
    with pytest.raises(DatacodyError, match="subquery"):
        # Built without validation, as if it had got past `validate`: run_arrow re-renders it.
        evil = FilterArgs.model_construct(
            predicate="a > 0 or (select count(*) from read_text('/etc/passwd')) > 0"
        )
        run_arrow(table, evil)
    # The connection the predicate runs on may open no file at all.
    con = confined_connection([])
    with pytest.raises(Exception, match="Permission"):
        con.sql("select * from read_text('/etc/passwd')").fetchall()


def test_python_module_reexporting_os_is_refused_at_run_time(tmp_path: Path) -> None:
    from datacody_dagster.runtime.python_assets import load_callable

    root = _project(tmp_path / "p")
    (root / "sneaky").mkdir()
    (root / "sneaky" / "__init__.py").write_text("", encoding="utf-8")
    (root / "sneaky" / "mod.py").write_text("def run(table):\n    return table\n", encoding="utf-8")
    (root / "asset_specs" / "py.yaml").write_text(
        "assets:\n  scores:\n    python: sneaky.mod:run\n    deps: [raw_orders]\n", encoding="utf-8"
    )
    project = compile_project(root)
    # The module changes after validation: run time checks the imported function again.
    (root / "sneaky" / "mod.py").write_text("from os import system as run\n", encoding="utf-8")
    with pytest.raises(DatacodyError, match="not defined there"):
        load_callable(project, project.plan.node("scores"))
    sys.modules.pop("sneaky.mod", None)
    sys.modules.pop("sneaky", None)


def test_a_cached_function_loads_at_run_time(tmp_path: Path) -> None:
    """`f = cache(f)` passes validate and run time (the wrapper keeps the module's name)."""
    from datacody_dagster.runtime.python_assets import load_callable

    root = _project(tmp_path / "p")
    (root / "cached").mkdir()
    (root / "cached" / "__init__.py").write_text("", encoding="utf-8")
    (root / "cached" / "mod.py").write_text(
        "from functools import cache\n\n\ndef run(n):\n    return n * 2\n\n\nrun = cache(run)\n",
        encoding="utf-8",
    )
    (root / "asset_specs" / "py.yaml").write_text(
        "assets:\n  scores:\n    python: cached.mod:run\n    deps: [raw_orders]\n", encoding="utf-8"
    )
    project = compile_project(root)
    try:
        func = load_callable(project, project.plan.node("scores"))
        assert func(21) == 42 and func.cache_info().hits == 0 and func(21) == 42  # type: ignore[attr-defined]
        assert func.cache_info().hits == 1  # type: ignore[attr-defined]
    finally:
        sys.modules.pop("cached.mod", None)
        sys.modules.pop("cached", None)


def test_python_attribute_that_became_a_module_is_refused_at_run_time(tmp_path: Path) -> None:
    from datacody_dagster.runtime.python_assets import load_callable

    root = _project(tmp_path / "p")
    (root / "sneaky2").mkdir()
    (root / "sneaky2" / "__init__.py").write_text("", encoding="utf-8")
    (root / "sneaky2" / "mod.py").write_text("def run(table):\n    return table\n", encoding="utf-8")
    (root / "asset_specs" / "py.yaml").write_text(
        "assets:\n  scores:\n    python: sneaky2.mod:run\n    deps: [raw_orders]\n", encoding="utf-8"
    )
    project = compile_project(root)
    (root / "sneaky2" / "mod.py").write_text("import codecs as run\n", encoding="utf-8")
    try:
        with pytest.raises(DatacodyError, match=r"is a module, not a function of `sneaky2\.mod`"):
            load_callable(project, project.plan.node("scores"))
    finally:
        sys.modules.pop("sneaky2.mod", None)
        sys.modules.pop("sneaky2", None)


def test_text_source_skips_files_linked_from_outside(tmp_path: Path) -> None:
    from datacody_dagster.engines.text_source import load_text_source

    root = tmp_path / "p"
    (root / "data" / "code").mkdir(parents=True)
    (root / "data" / "code" / "ok.py").write_text("print(1)\n", encoding="utf-8")
    (root / "data" / "code" / "leak.txt").symlink_to("/etc/hostname")
    table = load_text_source(root, "data/code/*")
    assert table.column("path").to_pylist() == ["data/code/ok.py"]


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One real `datacody materialize` of the project, with a fake API key in the environment."""
    base = tmp_path_factory.mktemp("confined")
    root, outside, home = _project(base / "p"), base / "outside", base / "home"
    outside.mkdir()
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    env = {**os.environ, "ANTHROPIC_API_KEY": FAKE_KEY, "DAGSTER_HOME": str(home)}
    proc = subprocess.run(
        [datacody_bin(), "materialize", "--project-dir", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert FAKE_KEY not in proc.stdout + proc.stderr
    return root, outside, home


def _files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.slow
def test_materialize_inside_the_sandbox_works_and_leaks_nothing(
    materialized: tuple[Path, Path, Path],
) -> None:
    root, outside, home = materialized
    assert (root / "data" / "warehouse" / "shop" / "order_totals.parquet").is_file()  # dbt's external write
    # The view and its checks resolved inside the sandbox: materialize exited 0 with blocking checks.
    assert _files_containing(root, FAKE_KEY.encode()) == []
    assert _files_containing(home, FAKE_KEY.encode()) == []  # event log, run storage
    assert list(outside.iterdir()) == []


@pytest.mark.slow
def test_hand_written_dbt_model_cannot_leave_the_data_folders(materialized: tuple[Path, Path, Path]) -> None:
    root, outside, _ = materialized
    dbt_dir = root / "dbt_project"
    models = dbt_dir / "models" / "handwritten"
    models.mkdir(parents=True)
    (models / "leak_env.sql").write_text("select * from read_text('/proc/self/environ')\n", encoding="utf-8")
    (models / "copy_out.sql").write_text(
        f"{{{{ config(post_hook=\"copy (select 1 as x) to '{outside}/x.csv'\") }}}}\nselect 1 as x\n",
        encoding="utf-8",
    )
    (models / "attach_out.sql").write_text(
        f"{{{{ config(pre_hook=\"attach '{outside}/evil.duckdb' as evil\") }}}}\nselect 1 as x\n",
        encoding="utf-8",
    )
    env = {**os.environ, "ANTHROPIC_API_KEY": FAKE_KEY}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--profiles-dir", ".", "--select", "handwritten"],
        cwd=dbt_dir,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert output.count("Permission Error") >= 3, output
    assert list(outside.iterdir()) == []
    assert FAKE_KEY not in output
    assert _files_containing(dbt_dir / "target", FAKE_KEY.encode()) == []
    assert _files_containing(root / "data", FAKE_KEY.encode()) == []
