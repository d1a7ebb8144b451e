"""code_quality, filter, the output layout and text sources (DuckDB engine)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from datacody_dagster.engines.text_source import load_text_source
from datacody_dagster.steps.runner import run_steps_asset

GOOD = "# helper\nclass A:\n    def f(self):\n        return 1\n\n\nasync def g():\n    pass\n"
BAD = "def broken(:\n    pass\n"


def _write(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    return path


def test_code_quality_drops_unparsable_and_adds_structure(tmp_path: Path) -> None:
    table = pa.table(
        {
            "path": ["a.py", "b.py", "c.js", "d.py"],
            "content": [GOOD, BAD, "function f() {\n  return 1\n}\n", "x = 1\n"],
            "language": ["python", "python", "javascript", "python"],
        }
    )
    out = tmp_path / "out.parquet"
    meta = run_steps_asset(_write(tmp_path, table), [{"code_quality": {"min_lines": 2}}], out)
    rows = {r["path"]: r for r in pq.read_table(out).to_pylist()}
    assert set(rows) == {"a.py", "c.js"}  # b.py does not parse, d.py is too short
    a = rows["a.py"]
    assert (a["parsed"], a["functions"], a["classes"], a["lines"]) == (True, 2, 1, 8)
    assert abs(a["comment_ratio"] - 1 / 6) < 1e-9
    # No tree-sitter grammar installed here: JavaScript passes through, unchecked and counted.
    assert rows["c.js"]["parsed"] is None
    assert meta["steps"][0]["unchecked_rows"] == 1


def test_filter_and_partitioned_output_layout(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": list(range(6)),
            "lang": ["py", "js", "py", "go", "js", "py"],
            "content": [f"row {i}" for i in range(6)],
        }
    )
    out = tmp_path / "out"
    meta = run_steps_asset(
        _write(tmp_path, table),
        [{"filter": "id <> 3"}, {"output": {"partition_by": ["lang"], "compression": "zstd"}}],
        out,
    )
    assert sorted(p.name for p in out.iterdir()) == ["lang=js", "lang=py"]
    files = sorted(out.rglob("*"))
    assert all(not f.name.startswith((".", "_")) for f in files)
    assert meta["files"] == 2 and meta["partition_by"] == ["lang"]
    meta_file = pq.ParquetFile(next(out.rglob("*.parquet")))
    assert meta_file.metadata.row_group(0).column(0).compression == "ZSTD"
    back = duckdb.sql(
        f"select id, lang from read_parquet('{out}/**/*.parquet', hive_partitioning=true) order by id"
    )
    assert back.fetchall() == [(0, "py"), (1, "js"), (2, "py"), (4, "js"), (5, "py")]
    # A partitioned folder is itself a valid step input, and a rerun replaces it atomically.
    again = tmp_path / "again.parquet"
    run_steps_asset(out, [{"filter": "lang = 'py'"}], again)
    assert pq.read_table(again)["id"].to_pylist() == [0, 2, 5]
    run_steps_asset(_write(tmp_path, table), [{"output": {"partition_by": "lang"}}], out)
    assert sorted(p.name for p in out.iterdir()) == ["lang=go", "lang=js", "lang=py"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_text_source_reads_the_stdlib() -> None:
    table = load_text_source(Path("/nonexistent"), "stdlib://json/*.py")
    assert table.column_names == ["path", "content", "size", "language"]
    # Paths are relative to the stdlib folder, so they are the same on every machine.
    assert "json/decoder.py" in table["path"].to_pylist()
    assert set(table["language"].to_pylist()) == {"python"}
    assert all(
        s == len(c.encode())
        for s, c in zip(table["size"].to_pylist(), table["content"].to_pylist(), strict=True)
    )
