"""`datacody init` makes a project that `dagster dev` (the README's command) opens at once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN
from tests.ui.conftest import _kill_group, _location_loaded, start_dagster_dev

pytestmark = pytest.mark.slow


def test_dagster_dev_serves_a_fresh_init_project(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    init = subprocess.run([str(BIN / "datacody"), "init", str(root)], capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    home = root / ".dagster_home"
    config = (home / "dagster.yaml").read_text()
    assert "run_monitoring" in config and "default_limit: 1" in config

    log = (tmp_path / "dagster_dev.log").open("wb")
    proc, ui = start_dagster_dev(root, home, log)  # the README's command, before any materialize
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (tmp_path / "dagster_dev.log").read_text()[-2000:]
            try:
                if _location_loaded(ui):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the code location did not load"
            time.sleep(1.0)
        nodes = ui.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
        assert nodes, "the asset graph is empty"
    finally:
        _kill_group(proc)
        log.close()
