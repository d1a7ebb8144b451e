"""`rollback --discard-journal` judges from the disk whether the apply swapped an output: a
staged copy still there (or a journal still `preparing`) means it did not, whatever prod's state
says; bytes that match neither version are never deleted; a folder it cannot verify is reported
`unknown` and its state entry dropped, never recorded as the plan's (real project files; DVC off,
so nothing can be restored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacody_dagster.checks.history import file_md5
from datacody_dagster.compiler import CompiledProject, compile_project
from datacody_dagster.envs.discard import _reconcile, _undo_move
from datacody_dagster.envs.journal import Journal, Move
from datacody_dagster.versioning.env_state import PROD, AssetState, EnvState, load_state, save_state
from tests.envs.helpers import shop_project

DEST = "data/warehouse/shop/orders.parquet"
STAGED = "data/warehouse/shop/.orders.parquet.apply-p1"


@pytest.fixture
def project(tmp_path: Path) -> CompiledProject:
    root = shop_project(tmp_path / "p", dvc=False)
    (root / DEST).parent.mkdir(parents=True)
    return compile_project(root)


def _state(md5: str | None, path: str = DEST) -> AssetState:
    return AssetState("shop", "sql", "f", "m", "c", data_version=md5, path=path)


def _journal(phase: str) -> Journal:
    return Journal("p1", "dev", phase, (Move("orders", STAGED, DEST),))


def test_a_file_whose_staged_copy_is_there_was_not_swapped_even_without_a_prior_entry(
    project: CompiledProject,
) -> None:
    root = project.root
    (root / DEST).write_bytes(b"PROD ORIGINAL")
    (root / STAGED).write_bytes(b"THE PLAN'S BYTES")
    new = _state(file_md5(root / STAGED))
    outcome, entry = _undo_move(project, _journal("committing"), _journal("committing").moves[0], None, new)
    assert (outcome.was, outcome.now) == ("not swapped", "old")
    assert (root / DEST).read_bytes() == b"PROD ORIGINAL" and not (root / STAGED).exists()
    assert entry is None


def test_bytes_matching_neither_version_are_kept_and_their_entry_dropped(project: CompiledProject) -> None:
    root = project.root
    (root / DEST).write_bytes(b"PROD ORIGINAL")  # no staged copy: the verdict goes by md5
    journal = _journal("committing")
    outcome, entry = _undo_move(project, journal, journal.moves[0], None, _state("0" * 32))
    assert outcome.was == "unknown" and outcome.now.startswith("unknown (kept")
    assert "--select orders --force" in outcome.now
    assert (root / DEST).read_bytes() == b"PROD ORIGINAL" and entry is None
    # The plan's own bytes, where prod had none, are still removed.
    (root / DEST).write_bytes(b"THE PLAN'S BYTES")
    new = _state(file_md5(root / DEST))
    outcome, entry = _undo_move(project, journal, journal.moves[0], None, new)
    assert (outcome.was, outcome.now, entry) == ("swapped", "absent (the plan added it)", None)
    assert not (root / DEST).exists()


def _folder(root: Path) -> Path:
    folder = root / DEST
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(b"OLD PARTITION")
    return folder


def test_a_folder_of_a_preparing_apply_was_not_swapped(project: CompiledProject) -> None:
    folder = _folder(project.root)  # its staged copy was never made, or deleted by hand
    old, new = _state("a" * 32 + ".dir"), _state("b" * 32 + ".dir")
    journal = _journal("preparing")
    outcome, entry = _undo_move(project, journal, journal.moves[0], old, new)
    assert (outcome.was, outcome.now, entry) == ("not swapped", "old", old)
    assert (folder / "part-0.parquet").read_bytes() == b"OLD PARTITION"


def test_an_unverifiable_folder_is_unknown_never_recorded_as_the_plans(project: CompiledProject) -> None:
    folder = _folder(project.root)
    old, new = _state("a" * 32 + ".dir"), _state("b" * 32 + ".dir")
    journal = _journal("committing")
    outcome, entry = _undo_move(project, journal, journal.moves[0], old, new)
    assert outcome.was == "unknown" and outcome.now.startswith("unknown (DVC versioning is off")
    assert entry is None  # not the plan's entry: the next plan rebuilds it
    assert (folder / "part-0.parquet").read_bytes() == b"OLD PARTITION"
    assert not (project.root / f"{DEST}.dvc").exists()


def test_without_a_journal_folder_entries_are_dropped_too(project: CompiledProject) -> None:
    root = project.root
    _folder(root)
    save_state(root, EnvState(PROD, {"orders": _state("a" * 32 + ".dir")}))
    notes: list[str] = []
    _reconcile(root, notes)
    prod = load_state(root, PROD)
    assert prod is not None and "orders" not in prod.assets
    assert any("orders" in n and "folder" in n for n in notes)
