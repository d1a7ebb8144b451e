"""One example project with a real warehouse for the semantic tests (built once: dbt is slow)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from datacody_dagster.compiler import CompiledProject, compile_project
from datacody_dagster.emit.files import sync_generated_files
from tests.conftest import BIN, copy_example

SEMANTIC_MODELS = ["stg_flights", "stg_airlines", "stg_airports", "metricflow_time_spine"]


@pytest.fixture(scope="session")
def warehouse_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, compiled, with its semantic models' assets built by a real `dbt run`."""
    root = copy_example(tmp_path_factory.mktemp("semantic"))
    sync_generated_files(compile_project(root))
    dbt_dir = root / "dbt_project"
    done = subprocess.run(
        [str(BIN / "dbt"), "run", "--select", *SEMANTIC_MODELS, "--profiles-dir", str(dbt_dir)],
        cwd=dbt_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return root


@pytest.fixture(scope="session")
def compiled(warehouse_project: Path) -> CompiledProject:
    return compile_project(warehouse_project)


@pytest.fixture(scope="session")
def engine(compiled: CompiledProject) -> Iterator[object]:
    from datacody_dagster.semantic.engine import open_engine

    with open_engine(compiled) as eng:
        yield eng
