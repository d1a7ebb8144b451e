"""`validate`, `compile` and `materialize` on the crash reproducers: exit 1, located, no traceback."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.confine.reproducers import RAW_CSV, RAW_SPEC, REPRODUCERS
from tests.conftest import datacody_bin, write_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(
        tmp_path_factory.mktemp("repro"), {"raw.yaml": RAW_SPEC}, {"data/raw/orders.csv": RAW_CSV}, dvc=False
    )
    for _, name, text in REPRODUCERS:
        path = root / "asset_specs" / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("command", ["validate", "compile", "materialize"])
def test_cli_on_reproducers(project: Path, command: str, tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "1000", "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.run(
        [datacody_bin(), command, "--project-dir", str(project)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    for case, name, _ in REPRODUCERS:
        assert re.search(rf"asset_specs/{re.escape(name)}:\d+:\d+", output), f"{case}: {output[-3000:]}"
    assert not (project / "dbt_project" / "models").exists()  # nothing half-written
