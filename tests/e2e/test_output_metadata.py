"""Output metadata: the preview and column schema of a real output, without loading pandas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import write_project

SPEC = """\
group: g
sources:
  raw_events: {path: data/raw/events.parquet}
"""

SCRIPT = """
import sys
from pathlib import Path
from datacody_dagster.compiler import compile_project
from datacody_dagster.runtime.outputs import output_metadata

project = compile_project(Path(sys.argv[1]))
meta = output_metadata(project, project.plan.node("raw_events"))
print(meta["datacody/preview"].value)
print([(c.name, c.type) for c in meta["dagster/column_schema"].columns])
print(meta["dagster/row_count"].value, "pandas" in sys.modules)
"""


def test_preview_and_schema_of_a_timestamptz_output(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"g.yaml": SPEC}, {}, dvc=False)
    out = root / "data/warehouse/g/raw_events.parquet"
    out.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set TimeZone='UTC'")
    con.execute(
        "copy (select i as id, 'a|b' as label, timestamptz '2013-01-01 05:00:00+00' + to_hours(i) as at"
        f" from range(8) t(i)) to '{out}' (format parquet)"
    )
    con.close()
    env = {**os.environ, "TZ": "UTC"}  # DuckDB shows a timestamptz in the session's time zone
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root)], capture_output=True, text=True, check=True, env=env
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "| id | label | at |"
    assert lines[2] == "| 0 | a\\|b | 2013-01-01 05:00:00+00:00 |"
    assert lines[6].startswith("| 4 |") and len(lines) == 9  # header, rule, 5 rows, schema, counts
    assert lines[7].startswith(
        "[('id', 'int64'), ('label', 'string'), ('at', 'timestamp[us, tz="
    )  # Arrow's names
    assert lines[8] == "8 False"  # Arrow's to_pylist of a tz timestamp would have imported pandas
