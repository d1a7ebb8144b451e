"""One module names every temp file; recovery reads those names back. A writer of each kind
killed mid-write leaves a temp that the next recovery removes (or, for an interrupted folder
swap, puts back); temps of live writers and dbt's candidate (unless asked) are kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from datacody_dagster.engines.atomic import temp_sibling
from datacody_dagster.temp_names import dbt_stage_name, parse, temp_name
from datacody_dagster.versioning.recovery import backup_path_for, clean_temp_outputs, temp_path_for

CHILD = """
import sys, time
from pathlib import Path
from datacody_dagster.engines.atomic import temp_sibling
out, kind, swap = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
tmp = temp_sibling(out, kind)
if swap:   # a folder swap killed between its two renames: the output is parked aside
    out.rename(tmp)
elif kind == "tmp" and out.suffix == "":
    (tmp / "k=1").mkdir(parents=True); (tmp / "k=1" / "part-0.parquet").write_bytes(b"half")
else:
    tmp.write_bytes(b"half a file")
print(tmp, flush=True)
time.sleep(120)
"""


def _killed_writer(out: Path, kind: str, swap: bool = False) -> Path:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), kind, "1" if swap else "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert proc.stdout is not None
    tmp = Path(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return tmp


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    (tmp_path / "resources").mkdir()
    folder = tmp_path / "data" / "warehouse" / "g"
    folder.mkdir(parents=True)
    return folder


def test_every_name_parses_back() -> None:
    out = Path("/x/data/warehouse/g/orders.parquet")
    for name in (temp_name(out), temp_name(out, "stage"), backup_path_for(out), temp_path_for(out)):
        parsed = parse(name.name)
        assert parsed is not None and parsed.target == "orders.parquet" and parsed.pid == os.getpid()
    assert parse(temp_name(out, "old").name).kind == "old"  # type: ignore[union-attr]
    dbt = parse(dbt_stage_name("orders.parquet"))
    assert dbt is not None and dbt.is_dbt_stage and dbt.target == "orders.parquet"
    assert parse("orders.parquet") is None and parse(".orders.parquet.dvc") is None


def test_killed_writers_of_each_kind_are_cleaned(tmp_path: Path, warehouse: Path) -> None:
    file_out = warehouse / "a.parquet"
    file_out.write_bytes(b"published")
    folder_out = warehouse / "p"
    (folder_out / "k=1").mkdir(parents=True)
    (folder_out / "k=1" / "part-0.parquet").write_bytes(b"published")
    swapped = warehouse / "s"
    (swapped / "k=1").mkdir(parents=True)

    leftovers = [
        _killed_writer(file_out, "tmp"),  # atomic file write (sources, Python, steps, Spark file)
        _killed_writer(folder_out, "tmp"),  # partitioned folder write (steps, Spark)
        _killed_writer(file_out, "stage"),  # write-audit-publish candidate
    ]
    parked = _killed_writer(swapped, "old", swap=True)
    live = temp_sibling(file_out, "stage")  # this process is alive: its candidate stays
    live.write_bytes(b"in progress")
    dbt = warehouse / dbt_stage_name("a.parquet")
    dbt.write_bytes(b"dbt candidate")
    assert all(p.exists() for p in leftovers) and parked.exists() and not swapped.exists()

    touched = clean_temp_outputs(tmp_path)

    assert not any(p.exists() for p in leftovers)
    assert swapped.is_dir() and not parked.exists()  # the interrupted swap is undone
    assert live.exists() and dbt.exists()
    assert file_out.read_bytes() == b"published"
    assert set(touched) >= {*leftovers, swapped}

    clean_temp_outputs(tmp_path, dbt_stages=True)  # nobody holds the DuckDB writer slot
    assert not dbt.exists() and live.exists()
