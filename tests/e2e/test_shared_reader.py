"""Output metadata reads through a session on a shared DuckDB database: a replaced file is read fresh.

Publishing renames a staged file over the output (a new inode at the same path); the shared
database outlives each read, so a cache of file contents or Parquet footers would serve the old
file. Real DuckDB, real Parquet files, the real metadata reader.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from datacody_dagster.compiler import compile_project
from datacody_dagster.engines.relations import connect_for_reading
from datacody_dagster.runtime.outputs import output_metadata
from tests.conftest import write_project

SPEC = """\
group: g
sources:
  src: {path: data/raw/src.csv}
assets:
  a:
    sql: select id, v from src
"""


def _write_parquet(path: Path, rows: int, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"copy (select range as id, {value} as v from range({rows})) to '{path}' (format parquet)")
    con.close()


def test_a_file_renamed_over_the_output_is_read_fresh(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"g.yaml": SPEC}, {"data/raw/src.csv": "id,v\n1,1\n"}, dvc=False)
    project = compile_project(root)
    node = next(n for n in project.plan.nodes if n.name == "a")
    out = project.output_path(node)
    _write_parquet(out, 7, 1001)
    meta = output_metadata(project, node)
    assert meta["dagster/row_count"].value == 7
    assert "| 1001 |" in meta["datacody/preview"].value

    # same size and the same mtime, other rows: only the inode tells them apart
    before = out.stat()
    candidate = out.with_name("a.candidate.parquet")
    _write_parquet(candidate, 7, 2002)
    assert candidate.stat().st_size == before.st_size
    os.utime(candidate, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(candidate, out)
    meta = output_metadata(project, node)
    assert "| 2002 |" in meta["datacody/preview"].value and "| 1001 |" not in meta["datacody/preview"].value

    # another row count, again by rename
    _write_parquet(candidate, 3, 3003)
    os.replace(candidate, out)
    assert output_metadata(project, node)["dagster/row_count"].value == 3


def test_sessions_share_no_settings(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"g.yaml": SPEC}, {"data/raw/src.csv": "id,v\n1,1\n"}, dvc=False)
    project = compile_project(root)
    first = connect_for_reading(project, attach=False)
    first.execute("set file_search_path = '/nowhere'")
    second = connect_for_reading(project, attach=False)
    expected = str(project.root / project.settings.dbt_project_dir)
    assert second.execute("select current_setting('file_search_path')").fetchall() == [(expected,)]
    assert first.execute("select current_setting('file_search_path')").fetchall() == [("/nowhere",)]
    first.close()
    second.close()
