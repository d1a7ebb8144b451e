"""SIGKILL a run inside the dbt step (holding the writer pool), between staging and publish:
the next `datacody materialize` finishes normally, the dead run is failed, no slot stays held,
no temp file remains, and the published output stayed the previous one until then."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import write_project
from tests.recovery import killing

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datacody_dagster.instance import ensure_instance_home

    root = write_project(
        tmp_path_factory.mktemp("kill") / "p",
        {"shop.yaml": killing.SPEC},
        {"data/raw/orders.csv": killing.ROWS},
    )
    ensure_instance_home(root / ".dagster_home")
    code, out, _ = killing.run_to_end(root)
    assert code == 0, out
    return root


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# One point here (the dbt step holds the writer pool and its candidate is staged, not yet
# published); bench/kill.py repeats this at 20+ points of a run.
@pytest.mark.parametrize("moment", [killing.dbt_candidate_exists], ids=["dbt-step-between-stage-and-publish"])
def test_kill_then_next_run_recovers(project: Path, moment: Callable[[Path], bool]) -> None:
    published = project / "data/warehouse/shop/stg_orders.parquet"
    before = _md5(published)
    kill = killing.kill_when(project, moment)
    assert kill.killed
    assert _md5(published) == before  # the previous output is still the published one
    victims = killing.runs_in_progress(project)
    assert len(victims) == 1  # the killed run is left STARTED ...

    code, out, _ = killing.run_to_end(project, timeout_s=300)  # ... and does not block this one

    assert code == 0, out
    inst = killing.instance(project)
    try:
        run = inst.get_run_by_id(victims[0])
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    finally:
        inst.dispose()
    assert killing.runs_in_progress(project) == []
    assert killing.slots_held(project) == 0
    assert killing.leftovers(project) == []
    # downstream reads through dbt's view work again (it pointed at the killed run's candidate)
    assert (project / "data/warehouse/shop/order_totals.parquet").exists()
