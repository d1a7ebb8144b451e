"""An environment build (`plan --env`) leaves prod up to date: prod judges its own latest build.

Env builds record on their own asset keys (``env/NAME/<asset>``): prod's latest materializations
stay prod's, or every `plan --env` would force a prod rebuild of an unchanged subgraph.
"""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.checks.history import file_md5
from datacody_dagster.compiler import compile_project
from datacody_dagster.runtime.materialize import materialize_project
from tests.envs.helpers import edit
from tests.envs.test_lifecycle import AMOUNT, cli, prod_md5s, prod_template, proj

__all__ = ["prod_template", "proj"]  # the fixtures, shared with the lifecycle tests


def test_prod_is_up_to_date_after_an_env_build(proj: Path) -> None:
    from datacody_dagster.instance import project_instance
    from datacody_dagster.runtime.noop import up_to_date_summary
    from datacody_dagster.runtime.up_to_date import decide

    before = prod_md5s(proj)
    edit(proj, *AMOUNT)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 0, planned.output
    assert (proj / "data/envs/dev/shop/orders.parquet").is_file()  # the env rebuilt orders, revenue

    # With the change still in the spec, prod rebuilds only what the change touches ...
    changed = decide(compile_project(proj), project_instance(proj), ["orders", "revenue", "status_counts"])
    assert {n: v.reason for n, v in changed.items()} == {
        "orders": "code changed",
        "revenue": "upstream `orders` is rebuilt",
        "status_counts": "upstream `orders` is rebuilt",
    }
    # ... and with it reverted, nothing: the env's builds are no prod version, in the fast no-op
    # path (read from the SQLite files, without Dagster) as in Dagster's.
    edit(proj, AMOUNT[1], AMOUNT[0])
    fast = up_to_date_summary(compile_project(proj), None)
    assert fast is not None and fast.run_id is None
    assert {r.status for r in fast.rows} == {"up to date"} and len(fast.rows) == 4
    dagster_view = decide(compile_project(proj), project_instance(proj), [r.asset for r in fast.rows])
    assert {v.reason for v in dagster_view.values()} == {"up to date"}
    summary = materialize_project(proj)
    assert summary.success, summary.errors
    assert {r.asset: r.status for r in summary.rows} == dict.fromkeys(
        ["raw_orders", "orders", "revenue", "status_counts"], "up to date"
    )
    assert prod_md5s(proj) == before
    assert file_md5(proj / "data/envs/dev/shop/orders.parquet")  # the env's candidate is still there


def test_a_prod_rebuild_after_an_env_build_records_prods_input_versions(proj: Path) -> None:
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0  # env builds of orders, revenue
    edit(proj, AMOUNT[1], AMOUNT[0])
    edit(proj, "sum(amount) as revenue", "sum(amount) as revenue, count(*) as n")  # prod: revenue only
    first = materialize_project(proj)
    assert first.success, first.errors
    assert {r.asset for r in first.rows if r.status == "materialized"} == {"revenue"}
    # revenue was built from prod's orders, not the env's candidate: the next run rebuilds nothing
    again = materialize_project(proj)
    assert again.success, again.errors
    assert {r.asset: r.status for r in again.rows} == dict.fromkeys(
        ["raw_orders", "orders", "revenue", "status_counts"], "up to date"
    )
