"""Fixtures of the browser suite: one example project, one `dagster dev`, one headless Chromium.

Everything is module-scoped: the webserver, the daemon and Chromium are heavy on 2 cores, so the
suite starts each once. Every child process runs in its own process group and is killed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import BIN, REPO, copy_example

CHROMIUM = os.environ.get("DATACODY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
DOCS_IMAGES = REPO / "docs" / "images"
LOAD_TIMEOUT_S = 240
VIEWPORT = {"width": 1440, "height": 1000}

# The inefficiency planted for the optimizer sensor: stg_flights becomes a view that three assets
# read (rule view_read_by_many), and a non-blocking check on route_performance that fails.
PLANTED_VIEW = "stg_flights"
PLANTED_CHECK = "range_avg_arr_delay"


def plant(project: Path) -> None:
    """Edit the copied specs: the planted view and the failing warn check (never the repo's)."""
    flights = project / "asset_specs" / "flights.yaml"
    text = flights.read_text(encoding="utf-8")
    anchor = (
        "  stg_flights:\n"
        "    description: Flights with a proper date, delays in minutes, and a cancelled flag\n"
    )
    assert anchor in text, "the example's stg_flights spec changed: update tests/ui/conftest.py"
    flights.write_text(text.replace(anchor, anchor + "    materialized: view\n", 1), encoding="utf-8")
    marts = project / "asset_specs" / "marts.yaml"
    text = marts.read_text(encoding="utf-8")
    anchor = "      - {row_count: {min: 100}, severity: warn}\n"
    assert anchor in text, "the example's route_performance checks changed: update tests/ui/conftest.py"
    planted = "      - {range: {column: avg_arr_delay, max: 30}, severity: warn}\n"
    marts.write_text(text.replace(anchor, anchor + planted, 1), encoding="utf-8")


@dataclass(frozen=True)
class DagsterUI:
    """A running `dagster dev` serving the copied example project."""

    url: str
    project: Path
    home: Path

    def graphql(self, query: str, variables: dict[str, object] | None = None) -> dict:  # type: ignore[type-arg]
        """POST a GraphQL query; return its `data` (fails on GraphQL errors)."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.load(response)
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kill_group(proc: subprocess.Popen[bytes], grace_s: float = 20.0) -> None:
    """SIGINT the process group (dagster dev shuts down on Ctrl-C), then SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _location_loaded(ui: DagsterUI) -> bool:
    data = ui.graphql(
        "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus"
        " locationOrLoadError { __typename ... on PythonError { message } } } } } }"
    )
    entries = data["workspaceOrError"]["locationEntries"]
    for entry in entries:
        error = entry["locationOrLoadError"] or {}
        if error.get("__typename") == "PythonError":
            pytest.fail(f"the code location failed to load: {error['message']}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries)


@pytest.fixture(scope="module")
def ui_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The example (flights and marts) with the planted inefficiency, `group:flights` materialized."""
    from datacody_dagster.instance import DAGSTER_YAML

    root = copy_example(tmp_path_factory.mktemp("ui") / "project")
    # The corpus group reads the interpreter's stdlib; the tour covers flights and marts.
    (root / "asset_specs" / "corpus.yaml").unlink(missing_ok=True)
    plant(root)
    home = root.parent / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("DATACODY_PROJECT_DIR", None)
    done = subprocess.run(
        [str(BIN / "datacody"), "materialize", "--select", "group:flights", "--quiet"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    yield root, home


def start_dagster_dev(root: Path, home: Path, log: IO[bytes]) -> tuple[subprocess.Popen[bytes], DagsterUI]:
    """`dagster dev -w workspace.yaml` of ``root`` on a free loopback port, in its own process
    group (stop it with :func:`_kill_group`), output to ``log``; the client of its webserver."""
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("DATACODY_PROJECT_DIR", None)
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(port), "-h", "127.0.0.1"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, DagsterUI(f"http://127.0.0.1:{port}", root, home)


@pytest.fixture(scope="module")
def dagster_ui(ui_project: tuple[Path, Path]) -> Iterator[DagsterUI]:
    """`dagster dev` (webserver + daemon) on a free loopback port, code location loaded."""
    root, home = ui_project
    log = (root.parent / "dagster_dev.log").open("wb")
    proc, ui = start_dagster_dev(root, home, log)
    try:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster dev exited with {proc.returncode}: see {log.name}")
            try:
                if _location_loaded(ui):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the code location did not load within {LOAD_TIMEOUT_S}s: see {log.name}")
            time.sleep(1.0)
        yield ui
    finally:
        _kill_group(proc)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium through Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/test.sh does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, dagster_ui: DagsterUI) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser context and page on the running UI."""
    context = browser.new_context(viewport=VIEWPORT, base_url=dagster_ui.url)
    # Collapsed navigation leaves room for the graph and the asset pages.
    context.add_init_script("localStorage.setItem('dagster-nav-collapsed', 'true')")
    context.set_default_timeout(60_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


def screenshot(page, name: str, docs: bool = False) -> Path:  # type: ignore[no-untyped-def]
    """Save tests/ui/screenshots/<name>.png; README images also go to docs/images/ on request.

    Set DATACODY_UPDATE_DOCS_IMAGES=1 to refresh the committed README images.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("DATACODY_UPDATE_DOCS_IMAGES") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMAGES / path.name)
    return path
