"""Every attack probe is refused by `validate` with a location in its own file, and nothing ran."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datacody_dagster.compiler import diagnose
from tests.confine.attacks import FAKE_KEY, PROBES, Probe
from tests.confine.reproducers import RAW_CSV, RAW_SPEC
from tests.conftest import write_project


def build(tmp_path: Path, probe: Probe) -> tuple[Path, Path]:
    root, outside = tmp_path / "project", tmp_path / "outside"
    outside.mkdir()
    write_project(root, {"raw.yaml": RAW_SPEC}, {"data/raw/orders.csv": RAW_CSV, **probe.files}, dvc=False)
    if probe.setup is not None:
        probe.setup(root, outside)
    (root / "asset_specs" / probe.file).write_text(
        probe.text.replace("OUTSIDE", str(outside)), encoding="utf-8"
    )
    return root, outside


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_probe_refused_at_validate(tmp_path: Path, probe: Probe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    root, outside = build(tmp_path, probe)
    _, diags = diagnose(root)
    errs = [d for d in diags if d.severity == "error"]
    assert errs, f"{probe.id} ({probe.kind}) passed validation"
    shown = "\n".join(d.format() for d in errs)
    in_file = [d for d in errs if d.location is not None and d.location.file.startswith("asset_specs/")]
    assert in_file, shown
    for d in in_file:
        assert re.search(r":\d+:\d+$", str(d.location)), shown
    assert any(
        d.location is not None and probe.file.split("\n")[0].split("{")[0] in d.location.file for d in in_file
    ), shown
    # Evidence that nothing ran: the canary folder is as the setup left it, the key is nowhere.
    assert not [p for p in outside.rglob("*") if p.name not in {"s.csv"}], list(outside.rglob("*"))
    assert FAKE_KEY not in shown
    assert not (root / "dbt_project").exists()


def test_probe_count_covers_every_class() -> None:
    kinds = {p.kind for p in PROBES}
    assert len(PROBES) >= 80
    assert kinds >= {
        "file-reading SQL",
        "Jinja in SQL",
        "statements",
        "check injection",
        "Jinja in text",
        "reader options",
        "source paths",
        "python modules",
        "names",
    }
