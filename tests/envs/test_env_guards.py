"""Review fixes: env names cannot collide with datacody's records, the env's dbt run cannot
write prod's DuckDB file, its dbt project mirrors prod's, and one writer at a time per env."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datacody_dagster.envs.apply import applied_path
from datacody_dagster.envs.lock import lock_path
from datacody_dagster.envs.workspace import remove_tree, workspace_dir
from datacody_dagster.errors import DatacodyError
from datacody_dagster.versioning.env_state import RESERVED, check_env_name, load_state
from tests.envs.helpers import edit
from tests.envs.test_lifecycle import AMOUNT, cli, prod_md5s, prod_template, proj

__all__ = ["prod_template", "proj"]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(folder).as_posix(): (_md5(p), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_reserved_names_are_refused(proj: Path) -> None:
    for name in RESERVED:
        with pytest.raises(DatacodyError, match="reserved"):
            check_env_name(name)
    refused = cli(proj, "plan", "--env", "applied")
    assert refused.exit_code == 1 and "reserved" in refused.output, refused.output
    assert not (proj / "data/.datacody/envs/applied").exists()
    assert not (proj / "data/envs/applied").exists()
    # No rmtree outside its folder, nor through a symlink.
    outside = proj / "data" / "warehouse"
    with pytest.raises(DatacodyError, match="refusing to delete"):
        remove_tree(outside, proj / "data" / "envs")
    (proj / "data" / "envs").mkdir(exist_ok=True)
    (proj / "data" / "envs" / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DatacodyError, match="refusing to delete"):
        remove_tree(proj / "data" / "envs" / "evil", proj / "data" / "envs")
    assert any(outside.rglob("*.parquet"))


def test_apply_journal_and_reserved_folders_are_no_environments(tmp_path: Path) -> None:
    from datacody_dagster.envs.journal import journal_path
    from datacody_dagster.versioning.env_state import STATE_DIR, list_states

    folder = tmp_path / STATE_DIR
    (folder / "applied").mkdir(parents=True)
    journal_path(tmp_path).write_text("{}", encoding="utf-8")
    for name in ("prod.json", "dev.json", "applied.json", "dev.json.tmp", "qa.journal"):
        (folder / name).write_text("{}", encoding="utf-8")
    assert list_states(tmp_path) == ["dev", "prod", "qa"]


def test_env_delete_keeps_applys_records(proj: Path) -> None:
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    plan_id = load_state(proj, "dev").plan_id  # type: ignore[union-attr]
    applied = cli(proj, "apply", "--env", "dev")
    assert applied.exit_code == 0, applied.output
    record = applied_path(proj, str(plan_id))
    assert record.is_file()
    assert not record.is_relative_to(workspace_dir(proj, "dev"))
    deleted = cli(proj, "env", "delete", "dev")
    assert deleted.exit_code == 0, deleted.output
    assert record.is_file()
    undone = cli(proj, "rollback", "--plan", str(plan_id))
    assert undone.exit_code == 0, undone.output


def test_env_workspace_mirrors_prod_and_never_writes_prods_duckdb(proj: Path) -> None:
    dbt = proj / "dbt_project"
    profiles = dbt / "profiles.yml"
    text = profiles.read_text(encoding="utf-8")
    literal = text.replace(
        "\"{{ env_var('DATACODY_DUCKDB_PATH', '../data/datacody.duckdb') }}\"", "../data/datacody.duckdb"
    )
    assert literal != text
    profiles.write_text(literal, encoding="utf-8")
    prod_db = proj / "data" / "datacody.duckdb"
    before = (_md5(prod_db), prod_db.stat().st_mtime_ns)
    (dbt / "macros" / "gone_soon.sql").write_text(
        "{% macro gone_soon() %}1{% endmacro %}\n", encoding="utf-8"
    )
    package = dbt / "dbt_packages" / "some_pkg"  # as `dbt deps` installs it in prod
    package.mkdir(parents=True)
    (package / "dbt_project.yml").write_text(
        'name: some_pkg\nversion: "1.0"\nconfig-version: 2\n', encoding="utf-8"
    )
    edit(proj, *AMOUNT)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 0, planned.output
    assert (_md5(prod_db), prod_db.stat().st_mtime_ns) == before
    space = workspace_dir(proj, "dev")
    env_db = space / "datacody.duckdb"
    import duckdb

    con = duckdb.connect(str(env_db), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    finally:
        con.close()
    assert {"orders", "revenue"} <= tables
    assert str(env_db) in (space / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert (space / "dbt" / "macros" / "gone_soon.sql").is_file()
    assert (space / "dbt" / "dbt_packages" / "some_pkg").is_dir()  # prod's installed packages

    (dbt / "macros" / "gone_soon.sql").unlink()
    again = cli(proj, "plan", "--env", "dev")
    assert again.exit_code == 0, again.output
    assert not (space / "dbt" / "macros" / "gone_soon.sql").exists()
    assert (_md5(prod_db), prod_db.stat().st_mtime_ns) == before


def test_a_held_env_lock_refuses_plan_apply_and_delete(proj: Path) -> None:
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    env_dir, space = proj / "data" / "envs" / "dev", workspace_dir(proj, "dev")
    before = (_snapshot(env_dir), _snapshot(space), prod_md5s(proj), load_state(proj, "dev"))
    edit(proj, "sum(amount) as revenue", "sum(amount) + 1 as revenue")  # a plan would rebuild
    paths = [str(lock_path(proj, "dev")), str(lock_path(proj, "prod"))]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fhs = [open(p, 'a+') for p in {paths!r}]\n"
            "for fh in fhs:\n"
            "    fcntl.flock(fh, fcntl.LOCK_EX)\n"
            "    fh.seek(0); fh.truncate(); fh.write(f'pid {os.getpid()}'); fh.flush()\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for args in (("plan", "--env", "dev"), ("apply", "--env", "dev"), ("env", "delete", "dev")):
            started = time.monotonic()
            result = cli(proj, *args)
            assert result.exit_code == 1, (args, result.output)
            assert f"environment `dev` is in use by pid {holder.pid}" in result.output
            assert "Traceback" not in result.output
            assert time.monotonic() - started < 30
        rolled = cli(proj, "rollback", "orders", "--wait-timeout", "1")  # prod's lock: not during an apply
        assert rolled.exit_code == 1, rolled.output
        assert f"environment `prod` is in use by pid {holder.pid}" in rolled.output
        assert (_snapshot(env_dir), _snapshot(space), prod_md5s(proj), load_state(proj, "dev")) == before
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its holder: the next plan proceeds.
    assert cli(proj, "plan", "--env", "dev").exit_code == 0


def test_env_dbt_artifacts_stay_in_the_env_workspace(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt's target and logs of an env build go to the env's workspace, even when prod's
    dbt_project.yml names absolute target/log paths (mirrored into the env) or DBT_TARGET_PATH
    is set for prod."""
    dbt = proj / "dbt_project"
    prod_target, prod_logs = dbt / "target", dbt / "logs"
    yml = dbt / "dbt_project.yml"
    yml.write_text(
        yml.read_text(encoding="utf-8") + f'target-path: "{prod_target}"\nlog-path: "{prod_logs}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("DBT_TARGET_PATH", str(prod_target))
    before = {p: _snapshot(p) if p.is_dir() else {} for p in (prod_target, prod_logs)}
    edit(proj, *AMOUNT)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 0, planned.output
    assert {p: _snapshot(p) if p.is_dir() else {} for p in (prod_target, prod_logs)} == before
    space = workspace_dir(proj, "dev") / "dbt"
    assert (space / "target" / "partial_parse.msgpack").is_file()
    import os

    assert os.environ["DBT_TARGET_PATH"] == str(prod_target)  # prod's setting back after the run


def _attach(proj: Path, path: str) -> None:
    import yaml

    profile = proj / "dbt_project" / "profiles.yml"
    doc = yaml.safe_load(profile.read_text(encoding="utf-8"))
    for out in doc["datacody"]["outputs"].values():
        out["attach"] = [{"path": path, "alias": "ref"}]
    profile.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def test_profile_attach_entries_are_read_only_and_resolved_against_prods_dbt_project(proj: Path) -> None:
    import duckdb

    ref = proj / "data" / "ref.duckdb"
    con = duckdb.connect(str(ref))
    con.execute("create table fx as select 1 as rate")
    con.close()
    before = _md5(ref)
    _attach(proj, "../data/ref.duckdb")  # relative to prod's dbt project, as dbt reads it there
    edit(proj, *AMOUNT)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 0, planned.output
    space = workspace_dir(proj, "dev")
    import yaml

    env_profile = yaml.safe_load((space / "dbt" / "profiles.yml").read_text(encoding="utf-8"))
    (attach,) = env_profile["datacody"]["outputs"]["dev"]["attach"]
    assert attach == {"path": str(ref), "alias": "ref", "read_only": True}
    assert not (space / "data" / "ref.duckdb").exists()  # no empty database beside the env's
    assert _md5(ref) == before


def test_a_profile_attach_of_prods_duckdb_file_is_refused_in_env_builds(proj: Path) -> None:
    _attach(proj, "../data/datacody.duckdb")
    edit(proj, *AMOUNT)
    before = prod_md5s(proj)
    planned = cli(proj, "plan", "--env", "dev")
    assert planned.exit_code == 1, planned.output
    said = " ".join(planned.output.split())
    assert "dbt_project/profiles.yml: outputs.dev.attach: attaches prod's DuckDB file" in said
    assert "Traceback" not in planned.output
    assert prod_md5s(proj) == before


def test_attach_entries_that_are_not_relative_files_keep_their_path(tmp_path: Path) -> None:
    """Only a file database's relative path is resolved against prod's dbt project: a postgres
    connection string stays as written, ``~`` is the home folder; every entry is read-only."""
    from datacody_dagster.envs.workspace import _env_attach

    dbt = tmp_path / "proj" / "dbt_project"
    prod_db = tmp_path / "proj" / "data" / "datacody.duckdb"

    def env(entry: dict[str, str]) -> object:
        return _env_attach(entry, dbt, prod_db, "dbt_project/profiles.yml: outputs.dev.attach")

    libpq = "dbname=shop host=127.0.0.1 user=etl"
    assert env({"path": libpq, "type": "postgres", "alias": "pg"}) == {
        "path": libpq,
        "type": "postgres",
        "alias": "pg",
        "read_only": True,
    }
    assert env({"path": "shop", "type": "MySQL"})["path"] == "shop"  # type: ignore[index]
    home = str(Path("~/shared/ref.duckdb").expanduser())
    assert env({"path": "~/shared/ref.duckdb"})["path"] == home  # type: ignore[index]
    assert env({"path": "ref.sqlite", "type": "sqlite"})["path"] == str(dbt / "ref.sqlite")  # type: ignore[index]
    assert env({"path": "../data/ref.duckdb", "type": "duckdb"})["path"] == str(  # type: ignore[index]
        tmp_path / "proj" / "data" / "ref.duckdb"
    )
