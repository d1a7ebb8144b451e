"""8 outputs recorded by 4 processes at once, 3 times: 24 versions, no lock error, sound cache."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning import ensure_dvc_repo
from datacody_dagster.versioning.cache import object_path
from tests.conftest import REPO
from tests.versioning.helpers import assert_dvc_clean, cache_consistent, md5_of

NAMES = [f"a{i}" for i in range(8)]


def test_four_processes_three_rounds_give_24_versions(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    ensure_dvc_repo(root, DvcSettings())
    versions = []
    for round_ in range(3):
        start_at = time.time() + 2.5  # all four start recording at the same moment
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.versioning.worker",
                    str(root),
                    ",".join(NAMES[i::4]),
                    str(round_),
                    "--start-at",
                    str(start_at),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            assert "lock" not in err.lower(), err
            versions += [json.loads(line) for line in out.splitlines()]
    assert len(versions) == 24
    assert len({v["md5"] for v in versions}) == 24  # every (asset, round) is a distinct version
    for v in versions:
        assert md5_of(object_path(root, v["md5"])) == v["md5"]
    assert cache_consistent(root) == []
    for name in NAMES:  # the .dvc files point at the last round
        dvc_text = (root / "data" / "warehouse" / "g" / f"{name}.parquet.dvc").read_text()
        last = next(v["md5"] for v in versions if v["name"] == name and v["round"] == 2)
        assert last in dvc_text
    assert_dvc_clean(root)
