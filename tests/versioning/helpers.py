"""Test helpers: write outputs the way the runtime does, and report them to a Dagster instance."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning import RecordedVersion, record_output, temp_path_for

BIN = Path(sys.executable).parent
SPEC = """\
group: shop
sources:
  raw_items:
    path: data/raw/items.csv
assets:
  items:
    sql: select id, name, price from raw_items
    checks:
      - unique: id
  item_log:
    sql: select id, name from raw_items
"""


def write_atomic(table: pa.Table, output: Path) -> None:
    tmp = temp_path_for(output)
    pq.write_table(table, tmp)
    os.replace(tmp, output)


def items(rows: list[tuple[int, str, float]]) -> pa.Table:
    ids, names, prices = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table({"id": list(ids), "name": list(names), "price": list(prices)})


def report(instance: Any, name: str, version: RecordedVersion, rows: int, code: str = "fp1") -> None:
    import dagster as dg

    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=dg.AssetKey([name]),
            metadata={
                "datacody/dvc_md5": dg.MetadataValue.text(version.md5),
                "datacody/dvc_file": dg.MetadataValue.path(str(version.dvc_file)),
                "dagster/uri": dg.MetadataValue.text(version.path.as_uri()),
                "dagster/row_count": dg.MetadataValue.int(rows),
                "datacody/code_version": dg.MetadataValue.text(code),
            },
            tags={"dagster/data_version": version.md5},
        )
    )


def materialize(
    root: Path, instance: Any, name: str, table: pa.Table, settings: DvcSettings
) -> RecordedVersion:
    output = root / "data" / "warehouse" / "shop" / f"{name}.parquet"
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(table, output)
    version = record_output(root, output, settings)
    report(instance, name, version, table.num_rows)
    return version


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    return subprocess.run(
        [str(BIN / "dvc"), *args], cwd=root, capture_output=True, text=True, env=env, timeout=120
    )


def assert_dvc_clean(root: Path) -> None:
    status = dvc(root, "status")
    assert status.returncode == 0, status.stderr
    assert "up to date" in status.stdout, status.stdout
    data = dvc(root, "data", "status", "--json")
    assert data.returncode == 0, data.stderr
    import json

    report_ = json.loads(data.stdout)
    assert (
        not report_.get("uncommitted") and not report_.get("committed") and not report_.get("not_in_cache")
    ), report_


def cache_consistent(root: Path) -> list[str]:
    """Re-hash every file object in the cache; return the ids whose bytes do not match."""
    base = root / ".dvc" / "cache" / "files" / "md5"
    bad = []
    for obj in base.glob("??/*"):
        if obj.name.endswith(".dir"):
            continue
        if obj.name.startswith("."):
            bad.append(str(obj))
        elif md5_of(obj) != obj.parent.name + obj.name:
            bad.append(obj.parent.name + obj.name)
    return bad
