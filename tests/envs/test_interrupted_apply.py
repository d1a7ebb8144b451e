"""An `apply` killed after its commit point is finished before prod is written again, even while
prod's runs hold prod's lock shared: recovery waits for them instead of skipping, the next apply
never overwrites the journal, and no prod writer starts on a half-applied prod (real project,
real flock holder in another process, a real SIGKILLed apply)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from datacody_dagster.checks.history import file_md5
from datacody_dagster.compiler import compile_project
from datacody_dagster.envs.journal import CRASH_ENV, Journal, journal_path, write_journal
from datacody_dagster.errors import DatacodyError
from datacody_dagster.versioning.env_state import PROD, load_state
from tests.conftest import datacody_bin
from tests.envs.helpers import edit
from tests.envs.test_lifecycle import AMOUNT, cli, prod_md5s, prod_template, proj
from tests.envs.test_prod_lock import _hold

__all__ = ["prod_template", "proj"]


def _crash_apply(root: Path, env: str, point: str = "committing") -> None:
    killed = subprocess.run(
        [datacody_bin(), "apply", "--env", env, "--project-dir", str(root)],
        env={**os.environ, CRASH_ENV: point, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert journal_path(root).exists()


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in (root / "data/warehouse/shop").iterdir() if ".apply-" in p.name]


def test_recovery_waits_for_prods_runs_and_finishes_the_apply(proj: Path) -> None:
    from datacody_dagster.envs.recovery import recover_apply

    before = prod_md5s(proj)
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    env = proj / "data/envs/dev/shop"
    new = dict(before, **{f"{n}.parquet": file_md5(env / f"{n}.parquet") for n in ("orders", "revenue")})
    _crash_apply(proj, "dev")
    holder = _hold(proj, shared=True, seconds=2)  # a prod materialize in progress
    try:
        assert recover_apply(compile_project(proj)) == "rolled forward"
        assert holder.poll() is not None  # it waited for the run instead of skipping
    finally:
        holder.kill()
        holder.wait()
    assert not journal_path(proj).exists() and _leftovers(proj) == []
    assert prod_md5s(proj) == new
    prod = load_state(proj, PROD)
    assert prod is not None and prod.assets["orders"].data_version == new["orders.parquet"]


def test_a_later_apply_finishes_the_interrupted_one_instead_of_overwriting_it(proj: Path) -> None:
    from datacody_dagster.envs.apply import apply_env

    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    dev = {f"{n}.parquet": file_md5(proj / f"data/envs/dev/shop/{n}.parquet") for n in ("orders", "revenue")}
    edit(proj, *reversed(AMOUNT))
    edit(proj, "where status <> 'test'", "where status <> 'returned'")
    assert cli(proj, "plan", "--env", "other").exit_code == 0  # planned on the same prod as dev
    _crash_apply(proj, "dev")
    # Straight to apply_env, as if prod's lock had been busy when the CLI tried recovery.
    with pytest.raises(DatacodyError, match="prod moved since plan"):
        apply_env(compile_project(proj), "other")
    assert not journal_path(proj).exists() and _leftovers(proj) == []
    assert {k: v for k, v in prod_md5s(proj).items() if k in dev} == dev  # dev's apply, finished
    prod = load_state(proj, PROD)
    assert prod is not None and prod.assets["revenue"].data_version == dev["revenue.parquet"]


def test_no_prod_writer_starts_on_a_half_applied_prod(proj: Path) -> None:
    """A journal seen while holding prod's lock shared is a crashed apply's: `materialize` (past
    the CLI's recovery) and a step of a run launched from the UI refuse to write prod."""
    import dagster as dg

    from datacody_dagster.instance import project_instance
    from datacody_dagster.runtime.code_location import run_definitions
    from datacody_dagster.runtime.materialize import materialize_project

    before = prod_md5s(proj)
    prod = load_state(proj, PROD)
    assert prod is not None
    write_journal(proj, Journal("p0", "dev", "committing", (), prod.to_json(), prod.to_json()))
    project = compile_project(proj)
    with pytest.raises(DatacodyError, match="an `apply` to prod was interrupted midway"):
        materialize_project(proj, force=True, project=project)
    result = dg.materialize(
        list(run_definitions(project).assets or []),  # type: ignore[arg-type]
        instance=project_instance(proj),
        selection=[dg.AssetKey("orders")],
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "an `apply` to prod was interrupted midway" in str(failure.step_failure_data.error)
    assert prod_md5s(proj) == before
    # The CLI finishes it first (an empty apply), then materializes.
    ran = cli(proj, "materialize", "--force")
    assert ran.exit_code == 0, ran.output
    assert not journal_path(proj).exists()
