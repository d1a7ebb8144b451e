"""The crash reproducers of issue 17: each is a located diagnostic in its own file, fast."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from datacody_dagster.compiler import compile_project, diagnose
from datacody_dagster.emit.dbt import emit_dbt_files
from tests.confine.reproducers import ACCEPTED, RAW_CSV, RAW_SPEC, REPRODUCERS
from tests.conftest import write_project


def _project(root: Path, name: str, text: str | bytes) -> Path:
    write_project(root, {"raw.yaml": RAW_SPEC}, {"data/raw/orders.csv": RAW_CSV}, dvc=False)
    path = root / "asset_specs" / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(("case", "name", "text"), REPRODUCERS, ids=[r[0] for r in REPRODUCERS])
def test_reproducer_is_a_located_error(tmp_path: Path, case: str, name: str, text: str | bytes) -> None:
    root = _project(tmp_path, name, text)
    started = time.monotonic()
    _, diags = diagnose(root)
    assert time.monotonic() - started < 5
    errs = [d for d in diags if d.severity == "error"]
    assert errs, f"{case} was accepted"
    for d in errs:
        assert d.location is not None
        assert d.location.file == f"asset_specs/{name}", d.format()
        assert re.fullmatch(r"asset_specs/.+:\d+:\d+", str(d.location)), d.format()


@pytest.mark.parametrize(("case", "name", "text"), ACCEPTED, ids=[r[0] for r in ACCEPTED])
def test_former_crashes_that_are_valid_compile(tmp_path: Path, case: str, name: str, text: str) -> None:
    root = _project(tmp_path, name, text)
    project = compile_project(root)  # raises DatacodyError on any error
    files = emit_dbt_files(project)
    assert any(path.endswith(".sql") for path in files)
