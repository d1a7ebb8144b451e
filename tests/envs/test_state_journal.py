"""The environment state's journal: O(1) appends per asset, replayed on read, crash-safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datacody_dagster.compiler import compile_project
from datacody_dagster.versioning import env_state
from datacody_dagster.versioning.env_state import (
    PROD,
    EnvState,
    journal_path,
    list_states,
    load_state,
    record_held,
    save_state,
    state_path,
)
from tests.envs.helpers import shop_project, state_of


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    return compile_project(shop_project(tmp_path / "shop"))


def test_records_append_without_rewriting_the_state(project) -> None:  # type: ignore[no-untyped-def]
    root = project.root
    save_state(root, state_of(project))
    written = state_path(root, PROD).stat()
    record_held(project, project.plan.node("revenue"), "a" * 32)
    record_held(project, project.plan.node("orders"), "b" * 32)
    after = state_path(root, PROD).stat()
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    lines = journal_path(root, PROD).read_text().splitlines()
    assert len(lines) == 3 and "journal" in json.loads(lines[0])  # header + one line per asset
    state = load_state(root, PROD)
    assert state is not None
    assert state.assets["revenue"].data_version == "a" * 32
    assert state.assets["orders"].data_version == "b" * 32
    assert state.assets["status_counts"].data_version is None  # from the state file


def test_an_env_with_only_a_journal_is_listed_and_loaded(project) -> None:  # type: ignore[no-untyped-def]
    record_held(project, project.plan.node("orders"), "c" * 32)
    assert not state_path(project.root, PROD).exists()
    assert list_states(project.root) == [PROD]
    state = load_state(project.root, PROD)
    assert state is not None and set(state.assets) == {"orders"}


def test_a_torn_last_line_is_ignored_and_later_records_survive(project) -> None:  # type: ignore[no-untyped-def]
    root = project.root
    record_held(project, project.plan.node("orders"), "1" * 32)
    with open(journal_path(root, PROD), "ab") as fh:
        fh.write(b'{"asset": "revenue", "state": {"gro')  # a crash mid-append
    state = load_state(root, PROD)
    assert state is not None and set(state.assets) == {"orders"}
    record_held(project, project.plan.node("status_counts"), "2" * 32)
    state = load_state(root, PROD)
    assert state is not None and set(state.assets) == {"orders", "status_counts"}


def test_save_supersedes_the_journal(project) -> None:  # type: ignore[no-untyped-def]
    root = project.root
    record_held(project, project.plan.node("orders"), "1" * 32)
    save_state(root, EnvState(PROD, plan_id="p1"))  # e.g. a rollback or apply
    assert not journal_path(root, PROD).exists()
    state = load_state(root, PROD)
    assert state is not None and state.assets == {} and state.plan_id == "p1"


def test_a_crash_between_compaction_and_journal_removal_replays_nothing_twice(project) -> None:  # type: ignore[no-untyped-def]
    root = project.root
    record_held(project, project.plan.node("orders"), "1" * 32)
    journal = journal_path(root, PROD)
    kept = journal.read_bytes()
    # A state saved over the journal (orders rolled back), then the process died before the
    # journal was removed: the journal comes back as it was.
    rolled_back = state_of(project)
    save_state(root, rolled_back)
    journal.write_bytes(kept)
    assert load_state(root, PROD) == rolled_back
    # Lines appended after the absorbed offset still count.
    record_held(project, project.plan.node("revenue"), "3" * 32)
    state = load_state(root, PROD)
    assert state is not None
    assert state.assets["orders"].data_version is None and state.assets["revenue"].data_version == "3" * 32


def test_the_journal_is_folded_in_once_it_outgrows_the_state(
    project,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = project.root
    monkeypatch.setattr(env_state, "_COMPACT_MIN_BYTES", 0)
    save_state(root, state_of(project))
    size = state_path(root, PROD).stat().st_size
    versions = [f"{i:032x}" for i in range(12)]
    for version in versions:
        record_held(project, project.plan.node("orders"), version)
        journal = journal_path(root, PROD)
        assert not journal.exists() or journal.stat().st_size <= 2 * size  # never grows past the state
    on_disk = json.loads(state_path(root, PROD).read_text())
    assert on_disk["assets"]["orders"]["data_version"] != versions[0]  # compacted at least once
    state = load_state(root, PROD)
    assert state is not None and state.assets["orders"].data_version == versions[-1]
    assert {k: v for k, v in state.assets.items() if k != "orders"} == {
        k: v for k, v in state_of(project).assets.items() if k != "orders"
    }
