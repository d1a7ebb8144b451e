"""SIGKILL mid-write and mid-recording: the previous version survives, the next run recovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning import ensure_dvc_repo, record_output
from datacody_dagster.versioning.cache import object_path
from tests.conftest import REPO
from tests.versioning.helpers import assert_dvc_clean, cache_consistent, md5_of


def _run(root: Path, round_: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.versioning.worker", str(root), "a0", str(round_), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp") if ".dvc/tmp" not in str(p)]


@pytest.mark.parametrize("point", ["write", "hashing", "cache_copy", "dvc_file"])
def test_sigkill_leaves_previous_version_and_next_run_recovers(tmp_path: Path, point: str) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    output = root / "data" / "warehouse" / "g" / "a0.parquet"
    first = _run(root, 0)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    v1 = json.loads(out)["md5"]

    signal_file = tmp_path / "paused"
    victim = _run(root, 1, "--crash-at", point, "--signal", str(signal_file))
    deadline = time.monotonic() + 60
    while not signal_file.exists():
        assert victim.poll() is None, victim.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)

    # The previous version is intact and readable: in the cache always, and as the output
    # when the kill came before the rename.
    assert md5_of(object_path(root, v1)) == v1
    assert pq.read_table(object_path(root, v1)).num_rows == 100
    table = pq.read_table(output)
    assert table.num_rows == 100
    if point == "write":
        assert md5_of(output) == v1
        assert _leftovers(root)  # the half-written temp file is still there ...
    if point == "dvc_file":  # DVC rewrites .dvc files in place: a kill leaves half of one
        assert "path:" not in output.with_name("a0.parquet.dvc").read_text()
    if point == "cache_copy":
        assert list((root / ".dvc" / "cache").rglob(".*.tmp"))  # ... or a half-copied cache object

    # The next run recovers by itself: no error, nothing left behind, DVC consistent.
    settings = DvcSettings(lock_timeout_s=10)
    ensure_dvc_repo(root, settings)
    assert _leftovers(root) == []
    assert cache_consistent(root) == []
    nxt = _run(root, 2)
    out, err = nxt.communicate(timeout=120)
    assert nxt.returncode == 0, err
    v3 = json.loads(out)["md5"]
    assert v3 != v1 and md5_of(output) == v3
    assert record_output(root, output, settings).md5 == v3
    assert_dvc_clean(root)
