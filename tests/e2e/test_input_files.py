"""Input-file signatures: globbed sources and a Python transform's module; stat first, hash when moved."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import write_project

SPEC = """\
group: g
sources:
  raw_parts: {path: "data/raw/parts/*.csv"}
assets:
  scored:
    python: transforms_mod:score
    deps: [raw_parts]
"""
MODULE = "def score(raw_parts):\n    return raw_parts\n"


def _project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p",
        {"g.yaml": SPEC},
        {"data/raw/parts/a.csv": "id\n1\n", "data/raw/parts/b.csv": "id\n2\n", "transforms_mod.py": MODULE},
        dvc=False,
    )


def test_glob_source_and_python_module_signatures(tmp_path: Path) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.runtime import input_files

    root = _project(tmp_path)
    project = compile_project(root)
    source, python = project.plan.node("raw_parts"), project.plan.node("scored")
    assert [p.name for p in input_files.input_files(project, source)] == ["a.csv", "b.csv"]
    assert [p.name for p in input_files.input_files(project, python)] == ["transforms_mod.py"]
    recorded = {n.name: input_files.signature(project, n).as_json() for n in (source, python)}  # type: ignore[union-attr]
    assert not input_files.changed(project, source, recorded["raw_parts"])

    # touched, same bytes: the stat digest moves, the content digest does not
    os.utime(root / "data/raw/parts/a.csv")
    assert not input_files.changed(project, source, recorded["raw_parts"])
    # a file added to the glob
    (root / "data/raw/parts/c.csv").write_text("id\n3\n")
    assert input_files.changed(project, source, recorded["raw_parts"])
    (root / "data/raw/parts/c.csv").unlink()
    # same size, other bytes, mtime put back
    b = root / "data/raw/parts/b.csv"
    st = b.stat()
    b.write_text("id\n9\n")
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert input_files.changed(project, source, recorded["raw_parts"])

    # the transform's code edited (same length): the Python asset is rebuilt
    module = root / "transforms_mod.py"
    assert not input_files.changed(project, python, recorded["scored"])
    module.write_text(MODULE.replace("raw_parts\n", "raw_partz\n").replace("(raw_partz", "(raw_parts"))
    assert input_files.changed(project, python, recorded["scored"])
    # nothing recorded yet (an older materialization): treated as changed
    assert input_files.changed(project, python, None)
