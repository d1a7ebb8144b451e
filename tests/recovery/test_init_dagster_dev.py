"""`datacody init` makes a project that `dagster dev` (the README's command) opens at once."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN
from tests.ui.conftest import DagsterUI, _free_port, _kill_group, _location_loaded

pytestmark = pytest.mark.slow


def test_dagster_dev_serves_a_fresh_init_project(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    init = subprocess.run([str(BIN / "datacody"), "init", str(root)], capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    home = root / ".dagster_home"
    config = (home / "dagster.yaml").read_text()
    assert "run_monitoring" in config and "default_limit: 1" in config

    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}  # the README's command, before any materialize
    env.pop("DATACODY_PROJECT_DIR", None)
    log = (tmp_path / "dagster_dev.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(port), "-h", "127.0.0.1"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    ui = DagsterUI(f"http://127.0.0.1:{port}", root, home)
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
