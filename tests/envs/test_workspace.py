"""An environment's dbt project: generated models and sources carry the env's output paths for
the assets it rebuilds and prod's for the rest (no engine needed)."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import compile_project
from datacody_dagster.emit.dbt import emit_dbt_files
from datacody_dagster.envs.workspace import env_project
from tests.envs.helpers import shop_project

SPEC = """\
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
assets:
  orders:
    engine: spark
    sql: select id as order_id, customer_id, amount from raw_orders
  revenue:
    sql: select customer_id, sum(amount) as revenue from orders group by customer_id
"""
DBT = "data/.datacody/envs/workspaces/dev/dbt"


def _resolve(root: Path, rel: str) -> Path:
    return (root / DBT / rel).resolve()


def _location(text: str, prefix: str) -> str:
    start = text.index(prefix) + len(prefix)
    return text[start : text.index("\n", start)].strip().strip("'")


def test_rebuilt_assets_are_written_and_read_in_the_env(tmp_path: Path) -> None:
    root = shop_project(tmp_path / "p", spec=SPEC).resolve()
    envp = env_project(compile_project(root), "dev", ["orders", "revenue"])
    assert envp.settings.dbt_project_dir == DBT
    assert envp.settings.duckdb_path == "data/.datacody/envs/workspaces/dev/datacody.duckdb"
    files = emit_dbt_files(envp)
    model = files["models/datacody/shop/revenue.sql"]
    published = model.split(" else ")[1].split("'")[1]
    staged = model.split("location=(")[1].split("'")[1]
    assert _resolve(root, published) == root / "data/envs/dev/shop/revenue.parquet"
    assert _resolve(root, staged) == root / "data/envs/dev/shop/.revenue.parquet.dbt.stage.tmp"
    # revenue reads the env's orders (a Spark asset: a dbt source with an external location) ...
    sources = files["models/datacody/_datacody__sources.yml"]
    orders = sources[sources.index("- name: orders") :]
    assert (
        _resolve(root, _location(orders, "external_location:")) == root / "data/envs/dev/shop/orders.parquet"
    )
    # ... and the raw file where it is.
    assert "read_csv('../../../../../../data/raw/orders.csv')" in sources


def test_assets_not_rebuilt_are_read_from_prod(tmp_path: Path) -> None:
    root = shop_project(tmp_path / "p", spec=SPEC).resolve()
    files = emit_dbt_files(env_project(compile_project(root), "dev", ["revenue"]))
    sources = files["models/datacody/_datacody__sources.yml"]
    orders = sources[sources.index("- name: orders") :]
    assert (
        _resolve(root, _location(orders, "external_location:")) == root / "data/warehouse/shop/orders.parquet"
    )
    # Prod's own emission is unchanged by environments.
    prod = emit_dbt_files(compile_project(root))["models/datacody/shop/revenue.sql"]
    assert "'../data/warehouse/shop/revenue.parquet'" in prod


def test_an_envs_quarantine_is_in_its_outputs_folder_whatever_the_warehouse(tmp_path: Path) -> None:
    from datacody_dagster.runtime.staging import quarantine_root
    from datacody_dagster.versioning.env_state import env_output_root

    root = shop_project(tmp_path / "p", spec=SPEC).resolve()
    with (root / "resources" / "dev.yaml").open("a", encoding="utf-8") as fh:
        fh.write("warehouse_dir: lake/warehouse\n")
    envp = env_project(compile_project(root), "dev", ["revenue"])
    assert envp.output_path(envp.plan.node("revenue")).is_relative_to(env_output_root(root, "dev"))
    assert quarantine_root(envp) == root / "data/envs/dev/.quarantine"


def test_the_env_dbt_project_mirrors_prods(tmp_path: Path) -> None:
    from datacody_dagster.envs.workspace import prepare_workspace

    root = shop_project(tmp_path / "p", spec=SPEC).resolve()
    prod = compile_project(root)
    dbt = root / prod.settings.dbt_project_dir
    (dbt / "macros").mkdir(parents=True, exist_ok=True)
    (dbt / "dbt_project.yml").write_text("name: datacody\n", encoding="utf-8")
    shared = tmp_path / "shared_macros"
    shared.mkdir()
    (shared / "m.sql").write_text("{% macro m() %}1{% endmacro %}\n", encoding="utf-8")
    (dbt / "macros" / "linked").symlink_to(shared, target_is_directory=True)
    (dbt / "macros" / "old").mkdir(parents=True)
    (dbt / "macros" / "old" / "x.sql").write_text("{% macro x() %}1{% endmacro %}\n", encoding="utf-8")
    envp = env_project(prod, "dev", ["revenue"])
    prepare_workspace(prod, envp)
    env_dbt = root / envp.settings.dbt_project_dir
    assert (env_dbt / "macros" / "linked" / "m.sql").is_file()
    assert (env_dbt / "macros" / "old" / "x.sql").is_file()
    (env_dbt / "target").mkdir(exist_ok=True)
    (env_dbt / "target" / "partial_parse.msgpack").write_bytes(b"state")
    (env_dbt / "models" / "datacody").mkdir(parents=True, exist_ok=True)
    (env_dbt / "models" / "datacody" / "gen.sql").write_text("select 1\n", encoding="utf-8")
    import shutil

    shutil.rmtree(dbt / "macros" / "old")
    prepare_workspace(prod, envp)
    assert not (env_dbt / "macros" / "old").exists()
    assert (env_dbt / "target" / "partial_parse.msgpack").read_bytes() == b"state"  # dbt's own
    assert (env_dbt / "models" / "datacody" / "gen.sql").is_file()  # synced by the run
    assert (env_dbt / "dbt_project.yml").is_file()
