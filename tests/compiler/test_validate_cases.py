"""Validation rules against fixture files: a spec snippet in, the expected diagnostics out.

Each `validate_cases/<rule>.yaml` holds cases of one rule: `specs` (file name -> YAML text, written
to `asset_specs/`), optional `files` (data files) and `expect`, the exact diagnostics as
`{at: file:line:col, code: DCnnn, says: substring of the message, hint: substring of the hint}`
(`hint` optional). Adding a case is adding YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from datacody_dagster.compiler import diagnose
from tests.conftest import write_project

CASES_DIR = Path(__file__).parent / "validate_cases"


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


@pytest.mark.parametrize("case", _cases())
def test_validate_case(case: dict[str, Any], tmp_path: Path) -> None:
    write_project(tmp_path, case["specs"], case.get("files"))
    _, diags = diagnose(tmp_path)
    got = [(str(d.location).removeprefix("asset_specs/"), d.code, d.message) for d in diags]
    want = case.get("expect") or []
    assert [(g[0], g[1]) for g in got] == [(w["at"], w["code"]) for w in want], got
    for diag, w in zip(diags, want, strict=True):
        assert w["says"] in diag.message, diag.message
        assert w.get("hint", "") in (diag.hint or ""), diag.hint
