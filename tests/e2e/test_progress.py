"""CLI progress: one bar per asset fed by the run's events, and silence off a terminal."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import dagster as dg
from rich.console import Console

from datacody_dagster.cli.asset_progress import AssetProgress, progress_for
from datacody_dagster.runtime.events import instance_listener
from tests.conftest import datacody_bin, write_project


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=True)])


@dg.asset(deps=[numbers])
def broken() -> None:
    raise ValueError("boom")


def test_progress_follows_the_event_stream_of_a_real_run() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    progress = progress_for(["numbers", "broken"], True, console)
    assert isinstance(progress, AssetProgress)
    with dg.instance_for_test() as instance, progress, instance_listener(instance, progress.on_event):
        dg.materialize([numbers, broken], instance=instance, raise_on_error=False)
        assert progress.status == {"numbers": "materialized", "broken": "failed"}
        assert progress.checks["numbers"] == [True]
        # The listener is removed afterwards: the instance's own method is back.
    assert "handle_new_event" not in vars(instance)
    assert "numbers: materialized" in out.getvalue()


def test_progress_is_quiet_when_asked_or_not_a_terminal() -> None:
    assert progress_for(["a"], False, Console(force_terminal=True)) is None
    assert progress_for(["a"], True, Console(file=io.StringIO())) is None


def test_materialize_prints_no_progress_when_piped(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "shop.yaml": """
            group: shop
            sources:
              raw_orders: {path: data/raw/orders.csv}
            assets:
              orders:
                sql: select id from raw_orders
            """
        },
        {"data/raw/orders.csv": "id\n1\n2\n"},
        dvc=False,
    )
    env_home = tmp_path / "home"
    env_home.mkdir()
    done = subprocess.run(
        [datacody_bin(), "materialize", "-p", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"DAGSTER_HOME": str(env_home), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "materializing" not in done.stdout and "\x1b[?25l" not in done.stdout
    assert "ok" in done.stdout and "orders" in done.stdout
