"""A small shop project for environment tests: a source, a staging asset, two readers."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import CompiledProject, compile_project
from datacody_dagster.versioning.env_state import PROD, EnvState, asset_state
from tests.conftest import write_project

ORDERS_CSV = """id,customer_id,amount,status
1,10,5.0,placed
2,10,7.5,shipped
3,11,2.0,test
4,12,9.0,placed
5,12,1.0,returned
"""

SHOP = """\
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
    description: Orders as exported
assets:
  orders:
    description: Real orders
    sql: |
      select id as order_id, customer_id, amount, status
      from raw_orders
      where status <> 'test'
    checks:
      - unique: order_id
  revenue:
    sql: select customer_id, sum(amount) as revenue from orders group by customer_id
  status_counts:
    sql: select status, count(*) as n from orders group by status
"""


def shop_project(root: Path, spec: str = SHOP, dvc: bool = False) -> Path:
    return write_project(root, {"shop.yaml": spec}, {"data/raw/orders.csv": ORDERS_CSV}, dvc=dvc)


def edit(root: Path, old: str, new: str) -> CompiledProject:
    """Replace text in the shop spec (it must occur) and recompile."""
    path = root / "asset_specs" / "shop.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return compile_project(root)


def state_of(project: CompiledProject, name: str = PROD) -> EnvState:
    """The state an environment would hold after building every asset of ``project``."""
    wh = project.settings.warehouse_dir
    return EnvState(name, {n.name: asset_state(n, path=n.output_relpath(wh)) for n in project.plan.nodes})


def build_prod(project: CompiledProject) -> None:
    """Prod as `datacody materialize` leaves it (outputs, DVC versions, prod state, the Dagster
    run in the project's instance)."""
    from datacody_dagster.runtime.materialize import materialize_project

    summary = materialize_project(project.root, project=project)
    assert summary.success, summary.errors
