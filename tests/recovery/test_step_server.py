"""The step forkserver's preload: it builds the run's definitions once, and a failure to build
never takes the forkserver (and with it every step) down."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest
from dagster._core.code_pointer import ModuleCodePointer
from dagster._serdes import serialize_value

from datacody_dagster.runtime.run_worker import POINTER_ENV

GOOD = """import dagster as dg
BUILT = []


def _defs():
    BUILT.append(1)
    return dg.Definitions()


defs = _defs()
"""
BAD = "raise ValueError('asset_specs/x.yaml:3:1 broken spec')\n"


def _pointer(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    return serialize_value(ModuleCodePointer(name, "defs", str(tmp_path)))


def _child_sees_built(name: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    module = sys.modules.get(name)
    queue.put(None if module is None else len(module.BUILT))


def test_published_definitions_are_built_and_a_failure_is_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datacody_dagster.runtime.step_server import build_published

    monkeypatch.delenv(POINTER_ENV, raising=False)
    assert build_published() is False
    monkeypatch.setenv(POINTER_ENV, _pointer(tmp_path, "good_location", GOOD))
    assert build_published() is True
    assert sys.modules["good_location"].BUILT == [1]
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(POINTER_ENV, _pointer(tmp_path, "bad_location", BAD))
    assert build_published() is False
    # Non-fatal, but said: one line naming the failure and what happens instead.
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert "could not preload the run's definitions" in err[0]
    assert "ValueError: asset_specs/x.yaml:3:1 broken spec" in err[0]
    assert "each step builds them itself" in err[0]


@pytest.mark.parametrize(("name", "text", "expected"), [("fs_good", GOOD, 1), ("fs_bad", BAD, None)])
def test_a_forkserver_child_finds_them_built_and_a_broken_location_still_forks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, expected: int | None
) -> None:
    # A real forkserver, as the run worker starts it: the pointer in its environment, the
    # preload importing step_server last. Before, a non-ImportError in a preload killed it.
    monkeypatch.setenv(POINTER_ENV, _pointer(tmp_path, name, text))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["datacody_dagster.runtime.step_server"])
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # type: ignore[attr-defined]  # a fresh one with this env
    queue = ctx.Queue()
    child = ctx.Process(target=_child_sees_built, args=(name, queue))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert queue.get(timeout=10) == expected
    forkserver._forkserver._stop()  # type: ignore[attr-defined]
