"""`quarantine publish` and `checkout` write prod, so they hold prod's lock exclusively like
`apply` and `rollback`: beside a running prod materialize (a real shared flock holder in another
process) they wait a bounded time, say so, then fail naming it, and prod is left as it was."""

from __future__ import annotations

import time
from pathlib import Path

from tests.envs.helpers import edit
from tests.envs.test_lifecycle import cli, prod_md5s, prod_template, proj
from tests.envs.test_prod_lock import _hold

__all__ = ["prod_template", "proj"]


def test_publish_and_checkout_wait_for_a_running_materialize_then_fail(proj: Path) -> None:
    edit(proj, "select id as order_id", "select 1 as order_id")  # breaks `unique: order_id`
    failed = cli(proj, "materialize", "--select", "orders")
    assert failed.exit_code == 1, failed.output
    candidates = sorted((proj / "data/quarantine").rglob("*.parquet"))
    assert len(candidates) == 1
    before = prod_md5s(proj)
    holder = _hold(proj, shared=True, seconds=60)  # a prod materialize in progress
    try:
        for args, doing in (
            (("quarantine", "publish", "orders"), "datacody quarantine publish"),
            (("checkout", "orders", "1"), "datacody checkout"),
        ):
            started = time.monotonic()
            result = cli(proj, *args, "--wait-timeout", "1")
            assert result.exit_code == 1, result.output
            assert time.monotonic() - started < 30
            text = " ".join(result.output.split())
            assert "waiting up to 1 s for environment `prod`" in text
            assert "environment `prod` is in use by" in text and "after waiting 1 s" in text
            assert f"retry `{doing}`" in text and "Traceback" not in text
            assert prod_md5s(proj) == before
        assert sorted((proj / "data/quarantine").rglob("*.parquet")) == candidates
    finally:
        holder.kill()
        holder.wait()
    published = cli(proj, "quarantine", "publish", "orders", "--wait-timeout", "5")
    assert published.exit_code == 0, published.output
    assert prod_md5s(proj) != before


def test_an_env_planned_before_a_publish_or_checkout_sees_that_prod_moved(proj: Path) -> None:
    from tests.envs.test_lifecycle import AMOUNT

    broken = ("select id as order_id", "select 1 as order_id")
    edit(proj, *broken)
    assert cli(proj, "materialize", "--select", "orders").exit_code == 1  # quarantined
    edit(proj, broken[1], broken[0])
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    published = cli(proj, "quarantine", "publish", "orders")
    assert published.exit_code == 0, published.output
    after_publish = prod_md5s(proj)
    refused = cli(proj, "apply", "--env", "dev")
    assert refused.exit_code == 1 and "prod moved since plan" in " ".join(refused.output.split())
    assert prod_md5s(proj) == after_publish  # the published data is not silently replaced

    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    restored = cli(proj, "checkout", "orders", "1")
    assert restored.exit_code == 0, restored.output
    after_checkout = prod_md5s(proj)
    assert after_checkout != after_publish
    refused = cli(proj, "apply", "--env", "dev")
    assert refused.exit_code == 1 and "prod moved since plan" in " ".join(refused.output.split())
    assert prod_md5s(proj) == after_checkout


def test_publish_and_checkout_refuse_a_half_applied_prod(proj: Path) -> None:
    """An interrupted apply's journal on disk: neither command writes prod until it is finished."""
    from datacody_dagster.versioning.apply_journal import journal_path

    edit(proj, "select id as order_id", "select 1 as order_id")  # breaks `unique: order_id`
    assert cli(proj, "materialize", "--select", "orders").exit_code == 1
    before = prod_md5s(proj)
    journal = journal_path(proj)
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text("{}")  # the guard looks at the journal's presence only
    for args in (("quarantine", "publish", "orders"), ("checkout", "orders", "1")):
        result = cli(proj, *args, "--wait-timeout", "1")
        assert result.exit_code == 1, result.output
        text = " ".join(result.output.split())
        assert "an `apply` to prod was interrupted midway" in text and "Traceback" not in text
        assert prod_md5s(proj) == before
