"""history / diff / checkout through the CLI, on a real DVC repo and a real Dagster instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning import record_output
from tests.versioning.helpers import assert_dvc_clean, items, materialize, report

V1 = [(1, "a", 1.0), (2, "b", 2.0), (3, "c", 3.0), (4, "d", 4.0)]
# v2: id 1 removed, ids 2 and 3 changed (price, name), id 4 unchanged, id 5 added.
V2 = [(2, "b", 2.5), (3, "C", 3.0), (4, "d", 4.0), (5, "e", 5.0)]


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _two_versions(project: Path, instance: Any, settings: DvcSettings) -> tuple[str, str]:
    v1 = materialize(project, instance, "items", items(V1), settings)
    v2 = materialize(project, instance, "items", items(V2), settings)
    return v1.md5, v2.md5


def test_history_lists_versions_newest_first(project: Path, instance: Any, settings: DvcSettings) -> None:
    h1, h2 = _two_versions(project, instance, settings)
    result = cli("history", "items", "--project-dir", str(project), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["version"], r["hash"], r["row_count"]) for r in rows] == [(2, h2, 4), (1, h1, 4)]
    assert {"version", "hash", "created_at", "row_count", "run_id", "code_version"} <= rows[0].keys()
    assert rows[0]["code_version"] == "fp1" and rows[0]["created_at"] >= rows[1]["created_at"]
    table = cli("history", "items", "-p", str(project))
    assert table.exit_code == 0 and "v2" in table.output and h2[:12] in table.output


def test_diff_reports_exactly_the_changed_rows(project: Path, instance: Any, settings: DvcSettings) -> None:
    h1, h2 = _two_versions(project, instance, settings)
    result = cli("diff", "items", "--project-dir", str(project), "--json")  # default: previous vs current
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert (d["old_version"], d["new_version"], d["old_hash"], d["new_hash"]) == (1, 2, h1, h2)
    assert d["key"] == ["id"]
    assert d["rows"] == {"added": 1, "removed": 1, "changed": 2}
    assert d["row_count"] == {"old": 4, "new": 4, "change": 0}
    assert d["schema"] == []
    assert d["changed_columns"] == {"name": 1, "price": 1}
    assert d["sample"]["added"] == [{"id": 5}] and d["sample"]["removed"] == [{"id": 1}]
    assert d["sample"]["changed"] == [
        {"id": 2, "changed": ["price"], "old": {"price": 2.0}, "new": {"price": 2.5}},
        {"id": 3, "changed": ["name"], "old": {"name": "c"}, "new": {"name": "C"}},
    ]
    text = cli("diff", "items", "1", "2", "-p", str(project))
    assert text.exit_code == 0 and "1 added" in text.output and "2 changed" in text.output


def test_diff_reports_schema_changes_and_works_without_a_key(
    project: Path, instance: Any, settings: DvcSettings
) -> None:
    materialize(project, instance, "item_log", pa.table({"id": [1, 2], "name": ["a", "b"]}), settings)
    materialize(project, instance, "item_log", pa.table({"id": [1, 3], "qty": [1.5, 2.0]}), settings)
    d = json.loads(cli("diff", "item_log", "-p", str(project), "--json").output)
    assert d["key"] is None
    assert d["schema"] == [
        {"name": "name", "old_type": "VARCHAR", "new_type": None},
        {"name": "qty", "old_type": None, "new_type": "DOUBLE"},
    ]
    assert d["rows"] == {"added": 1, "removed": 1, "changed": None}


def test_checkout_restores_rows_and_keeps_history(
    project: Path, instance: Any, settings: DvcSettings
) -> None:
    h1, h2 = _two_versions(project, instance, settings)
    out = project / "data" / "warehouse" / "shop" / "items.parquet"
    result = cli("checkout", "items", "1", "--project-dir", str(project))
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).to_pylist() == items(V1).to_pylist()
    assert_dvc_clean(project)  # the .dvc file points at the restored version
    rows = json.loads(cli("history", "items", "-p", str(project), "--json").output)
    assert [(r["version"], r["hash"], r["checkout_of"]) for r in rows] == [
        (3, h1, 1),
        (2, h2, None),
        (1, h1, None),
    ]
    assert rows[0]["row_count"] == 4 and rows[0]["code_version"] == "fp1"
    # The data version the UI shows is the restored hash.
    import dagster as dg

    latest = instance.get_latest_materialization_event(dg.AssetKey(["items"]))
    assert latest.asset_materialization.tags["dagster/data_version"] == h1
    # Nothing was lost: the version that was current can be checked out again, by hash prefix.
    assert cli("checkout", "items", h2[:8], "-p", str(project)).exit_code == 0
    assert pq.read_table(out).to_pylist() == items(V2).to_pylist()
    assert_dvc_clean(project)


def test_checkout_of_a_partitioned_folder(project: Path, instance: Any, settings: DvcSettings) -> None:
    folder = project / "data" / "warehouse" / "shop" / "items.parquet"  # folder outputs keep their path
    folder.parent.mkdir(parents=True)
    versions = []
    for content in ([1, 2], [3]):
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        for i in content:
            (folder / f"month={i}").mkdir(parents=True)
            pq.write_table(items([(i, "x", 1.0)]), folder / f"month={i}" / "part-0.parquet")
        v = record_output(project, folder, settings)
        report(instance, "items", v, len(content))
        versions.append(v)
    d = json.loads(cli("diff", "items", "-p", str(project), "--json").output)
    assert d["rows"] == {"added": 1, "removed": 2, "changed": 0}
    assert {"name": "month", "old_type": "BIGINT", "new_type": "BIGINT"} not in d["schema"]
    assert cli("checkout", "items", "1", "-p", str(project)).exit_code == 0
    assert sorted(p.parent.name for p in folder.rglob("*.parquet")) == ["month=1", "month=2"]
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]
    assert_dvc_clean(project)


def test_cli_errors_are_diagnostics_not_tracebacks(
    project: Path, instance: Any, settings: DvcSettings
) -> None:
    result = CliRunner().invoke(app, ["history", "nope", "-p", str(project)])
    assert (
        result.exit_code == 1 and "unknown asset 'nope'" in result.output and "Traceback" not in result.output
    )
    result = CliRunner().invoke(app, ["diff", "items", "-p", str(project)])
    assert result.exit_code == 1 and "a diff needs two" in result.output
    materialize(project, instance, "items", items(V1), settings)
    result = CliRunner().invoke(app, ["checkout", "items", "7", "-p", str(project)])
    assert result.exit_code == 1 and "has no version '7'" in result.output
