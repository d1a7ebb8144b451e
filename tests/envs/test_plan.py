"""The plan as data: each classification with its reason, without running any engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

from datacody_dagster.compiler import compile_project
from datacody_dagster.envs.plan import EnvPlan, build_env_plan
from datacody_dagster.envs.render import plan_markdown, plan_table
from datacody_dagster.versioning.env_state import PROD, load_state, save_state
from tests.envs.helpers import edit, shop_project, state_of

GOLDEN = Path(__file__).parent / "golden"


def _plan(tmp_path: Path, old: str, new: str) -> EnvPlan:
    root = shop_project(tmp_path)
    state = state_of(compile_project(root))
    return build_env_plan("dev", state, edit(root, old, new).plan)


def _changes(plan: EnvPlan) -> dict[str, str]:
    return {c.asset: c.change for c in plan.changes}


def test_no_change_is_all_unchanged(tmp_path: Path) -> None:
    root = shop_project(tmp_path)
    project = compile_project(root)
    plan = build_env_plan("dev", state_of(project), project.plan)
    assert set(_changes(plan).values()) == {"unchanged"}
    assert plan.rebuild == []


def test_add_column_is_non_breaking_and_rebuilds_only_the_asset(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "amount, status\n", "amount, status, amount * 2 as amount_x2\n")
    orders = plan.change_of("orders")
    assert (orders.change, orders.reason) == ("non-breaking", "columns added: amount_x2")
    assert plan.rebuild == ["orders"]
    assert _changes(plan)["revenue"] == "unchanged"


def test_filter_change_is_breaking_and_rebuilds_readers(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "where status <> 'test'", "where status <> 'test' and amount > 1")
    orders = plan.change_of("orders")
    assert orders.change == "breaking"
    assert orders.reason == "rows change: filter changed"
    assert orders.affected == ("*",)
    assert plan.rebuild == ["orders", "revenue", "status_counts"]
    assert plan.change_of("revenue").reason == "reads rows of orders, which change"


def test_column_read_by_one_of_two_readers_rebuilds_only_that_one(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "customer_id, amount, status", "customer_id, amount * 100 as amount, status")
    orders = plan.change_of("orders")
    assert (orders.change, orders.reason, orders.affected) == (
        "breaking",
        "expression changed: amount",
        ("amount",),
    )
    revenue = plan.change_of("revenue")
    assert (revenue.change, revenue.reason, revenue.affected) == (
        "indirect",
        "reads changed orders.amount",
        ("revenue",),
    )
    counts = plan.change_of("status_counts")
    assert counts.change == "unchanged"
    assert counts.reason == "does not read the changed columns of orders"
    assert plan.rebuild == ["orders", "revenue"]


def test_grouping_column_change_changes_reader_rows(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "amount, status\n", "amount, upper(status) as status\n")
    assert plan.change_of("status_counts").reason == "filters, joins or groups on changed orders.status"
    assert plan.rebuild == ["orders", "status_counts"]


def test_description_edit_is_metadata_only_and_builds_nothing(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "description: Real orders", "description: Orders without test rows")
    assert _changes(plan)["orders"] == "metadata-only"
    assert plan.rebuild == []


def test_check_edit_is_metadata_only(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "- unique: order_id", "- unique: order_id\n      - not_null: [amount]")
    assert _changes(plan)["orders"] == "metadata-only"
    assert plan.rebuild == []


def test_removed_renamed_added_and_dropped(tmp_path: Path) -> None:
    root = shop_project(tmp_path)
    state = state_of(compile_project(root))
    edit(root, "customer_id, amount, status", "customer_id as buyer_id, amount, status")
    edit(root, "select customer_id, sum(amount)", "select buyer_id, sum(amount)")
    edit(root, "group by customer_id", "group by buyer_id")
    project = edit(
        root,
        "  status_counts:\n    sql: select status, count(*) as n from orders group by status\n",
        "  big_orders:\n    sql: select order_id from orders where amount > 5\n",
    )
    plan = build_env_plan("dev", state, project.plan)
    assert plan.change_of("orders").reason == "columns renamed: customer_id -> buyer_id"
    assert plan.change_of("revenue").change == "breaking"
    assert plan.change_of("big_orders").change == "added"
    assert plan.change_of("status_counts").change == "removed"
    assert plan.removed == ["status_counts"]


def test_star_reader_follows_added_columns(tmp_path: Path) -> None:
    spec_extra = "  orders_copy:\n    sql: select * from orders\n"
    root = shop_project(tmp_path)
    (root / "asset_specs" / "shop.yaml").write_text(
        (root / "asset_specs" / "shop.yaml").read_text() + spec_extra, encoding="utf-8"
    )
    state = state_of(compile_project(root))
    plan = build_env_plan("dev", state, edit(root, "amount, status\n", "amount, status, 1 as one\n").plan)
    assert plan.change_of("orders_copy").change == "indirect"
    assert plan.change_of("orders_copy").reason == "columns follow upstream via *: +one"


def test_state_round_trips_atomically(tmp_path: Path) -> None:
    root = shop_project(tmp_path)
    state = state_of(compile_project(root))
    path = save_state(root, state)
    assert load_state(root, PROD) == state
    # No temp file left (the lock file serializes writers and stays).
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "prod.json"]


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def golden_plan(tmp_path: Path) -> EnvPlan:
    root = shop_project(tmp_path)
    state = state_of(compile_project(root))
    edit(root, "description: Real orders", "description: Orders without test rows")
    new = "customer_id, amount * 100 as amount, status, 1 as one"
    project = edit(root, "customer_id, amount, status", new)
    return build_env_plan("dev", state, project.plan)


def test_plan_markdown_matches_golden(golden_plan: EnvPlan) -> None:
    _golden("plan.md", plan_markdown(golden_plan))


def test_plan_table_matches_golden(golden_plan: EnvPlan) -> None:
    with open(os.devnull, "w") as sink:
        console = Console(width=120, color_system=None, record=True, file=sink)
        console.print(plan_table(golden_plan))
    _golden("plan.txt", console.export_text())


def test_cli_plan_without_prod_state_and_bad_env_name(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from datacody_dagster.cli.main import app

    root = shop_project(tmp_path)
    out = CliRunner().invoke(app, ["plan", "--project-dir", str(root)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "prod holds no recorded state yet" in out.output
    assert "Rebuild: raw_orders, orders, revenue, status_counts." in out.output
    bad = CliRunner().invoke(app, ["plan", "--env", "../x", "-p", str(root)], catch_exceptions=False)
    assert bad.exit_code == 1 and "invalid environment name `../x`" in bad.output
    assert not (root / "data" / "envs").exists()
