"""A bounded fuzz run (seconds): no crash, no hang, located errors, no foreign Jinja emitted."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fuzz.fuzzer import fuzz

CASES = int(os.environ.get("DATACODY_FUZZ_CASES", "150"))


def test_bounded_fuzz(tmp_path: Path) -> None:
    report = fuzz(CASES, seed=17, workdir=tmp_path)
    assert report.cases == CASES
    assert report.ok, (dict(report.crashes), report.hangs, report.bad_locations, report.leaks)
    assert report.refused > 0 and report.compiled > 0  # both paths were exercised
