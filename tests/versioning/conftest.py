from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datacody_dagster.config import DvcSettings
from tests.conftest import write_project
from tests.versioning.helpers import SPEC


@pytest.fixture
def settings() -> DvcSettings:
    return DvcSettings(lock_timeout_s=30)


@pytest.fixture
def project(tmp_path: Path, dagster_home: Path) -> Path:
    root = tmp_path / "proj"
    write_project(root, {"shop.yaml": SPEC}, {"data/raw/items.csv": "id,name,price\n1,a,1.0\n"})
    return root


@pytest.fixture
def instance(dagster_home: Path) -> Any:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as inst:
        yield inst
