"""versions push/pull with a local-folder remote; checkout fetches from the remote when needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning.cache import object_path
from tests.versioning.helpers import assert_dvc_clean, items, materialize


def test_push_every_version_then_checkout_from_the_remote(
    tmp_path: Path, project: Path, instance: Any
) -> None:
    (project / "resources" / "dev.yaml").write_text("dvc:\n  remote: ../remote\n", encoding="utf-8")
    settings = DvcSettings(remote="../remote")
    v1 = materialize(project, instance, "items", items([(1, "a", 1.0)]), settings)
    v2 = materialize(project, instance, "items", items([(1, "a", 9.0)]), settings)
    result = CliRunner().invoke(app, ["versions", "push", "-p", str(project)])
    assert result.exit_code == 0, result.output
    remote = tmp_path / "remote" / "files" / "md5"
    assert (remote / v1.md5[:2] / v1.md5[2:]).is_file()  # old versions too, not only the current
    assert (remote / v2.md5[:2] / v2.md5[2:]).is_file()

    # A fresh machine: no local cache. checkout fetches v1 from the remote.
    shutil.rmtree(project / ".dvc" / "cache")
    result = CliRunner().invoke(app, ["checkout", "items", "1", "-p", str(project)])
    assert result.exit_code == 0, result.output
    out = project / "data" / "warehouse" / "shop" / "items.parquet"
    assert pq.read_table(out).to_pylist() == items([(1, "a", 1.0)]).to_pylist()

    # pull brings back the current outputs' versions (and all history with --all-versions).
    shutil.rmtree(project / ".dvc" / "cache")
    result = CliRunner().invoke(app, ["versions", "pull", "--all-versions", "-p", str(project)])
    assert result.exit_code == 0, result.output
    assert object_path(project, v1.md5).is_file() and object_path(project, v2.md5).is_file()
    assert_dvc_clean(project)
    rows = json.loads(CliRunner().invoke(app, ["history", "items", "-p", str(project), "--json"]).output)
    assert [r["version"] for r in rows] == [3, 2, 1]


def test_push_without_a_remote_says_how_to_configure_one(project: Path) -> None:
    result = CliRunner().invoke(app, ["versions", "push", "-p", str(project)])
    assert result.exit_code == 1
    assert "no DVC remote is configured" in result.output and "dvc.remote" in result.output
