"""Progress of `check`, `scaffold`, `versions push|pull`: drawn on a terminal, not piped or --quiet."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from datacody_dagster.assistant.scaffold import SCAFFOLD_PHASES, scaffold
from datacody_dagster.checks.ci import run_project_checks
from datacody_dagster.checks.selection import select_nodes
from datacody_dagster.cli.progress import RowProgress, rows_progress, spinner
from datacody_dagster.compiler import compile_project
from tests.conftest import datacody_bin, write_project

HIDE_CURSOR = "\x1b[?25l"  # rich's live display hides the cursor while it draws

SPEC = """
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
    checks:
      - unique: id
  raw_items:
    path: data/raw/items.csv
    checks:
      - not_null: [id]
      - {range: {column: price, min: 0}}
"""


def _shop(root: Path, items: str = "id,price\n1,2.0\n2,3.0\n") -> Path:
    return write_project(
        root,
        {"shop.yaml": SPEC},
        {"data/raw/orders.csv": "id\n1\n2\n", "data/raw/items.csv": items},
        dvc=False,
    )


def _run(args: list[str], home: Path, *, terminal: bool) -> subprocess.CompletedProcess[str]:
    """The CLI with stdout piped; ``terminal`` tells rich to draw as on a TTY (TTY_COMPATIBLE=1)."""
    home.mkdir(exist_ok=True)
    env = {"DAGSTER_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "100"}
    if terminal:
        env["TTY_COMPATIBLE"] = "1"
    return subprocess.run(
        [datacody_bin(), *args], capture_output=True, text=True, timeout=300, env=env, cwd=os.fspath(home)
    )


def test_check_rows_follow_each_asset_on_a_terminal(tmp_path: Path) -> None:
    root = _shop(tmp_path / "p", items="id,price\n1,2.0\n,-1.0\n")
    project = compile_project(root)
    nodes = select_nodes(project, None)
    out = io.StringIO()
    progress = rows_progress(
        "checking",
        [n.name for n in nodes if n.checks],
        True,
        Console(file=out, force_terminal=True, width=100),
    )
    assert isinstance(progress, RowProgress)
    with progress:
        outcomes = run_project_checks(project, nodes, use_cache=False, on_status=progress.set_status)
    assert progress.status == {"raw_orders": "passed", "raw_items": "failed"}
    assert progress.detail["raw_items"] == "0/2 checks passed"
    assert len(outcomes) == 3
    assert "raw_orders: passed (1/1 checks passed)" in out.getvalue()
    assert "raw_items: failed" in out.getvalue()


def test_progress_helpers_are_quiet_when_asked_or_not_a_terminal() -> None:
    assert rows_progress("x", ["a"], False, Console(force_terminal=True)) is None
    assert rows_progress("x", ["a"], True, Console(file=io.StringIO())) is None
    for show, console in (
        (False, Console(file=io.StringIO(), force_terminal=True)),
        (True, Console(file=io.StringIO())),
    ):
        with spinner("pushing", show, console) as say:
            say("pushing 3 object(s)")
        assert isinstance(console.file, io.StringIO) and console.file.getvalue() == ""
    out = io.StringIO()
    with spinner("pushing versions", True, Console(file=out, force_terminal=True)) as say:
        say("pushing 3 object(s) to the remote")
    assert "pushing 3 object(s) to the remote" in out.getvalue()


def test_scaffold_phases_are_reported_in_order(tmp_path: Path) -> None:
    root = _shop(tmp_path / "p")
    (root / "data" / "raw" / "stock.csv").write_text("sku,qty\na,1\nb,2\n", encoding="utf-8")
    heard: list[str] = []
    scaffold(root, root / "data" / "raw" / "stock.csv", on_phase=heard.append)
    assert heard == SCAFFOLD_PHASES


def test_check_cli_progress_only_on_a_terminal_and_not_with_quiet(tmp_path: Path) -> None:
    root = _shop(tmp_path / "p", items="id,price\n1,2.0\n,-1.0\n")
    home = tmp_path / "home"
    piped = _run(["check", "-p", str(root)], home, terminal=False)
    drawn = _run(["check", "-p", str(root)], home, terminal=True)
    quiet = _run(["check", "-q", "-p", str(root)], home, terminal=True)
    # The gate fails the same way whatever is drawn.
    assert piped.returncode == drawn.returncode == quiet.returncode == 1, piped.stdout + piped.stderr
    assert HIDE_CURSOR not in piped.stdout and "checking" not in piped.stdout
    assert HIDE_CURSOR in drawn.stdout and "raw_items: failed" in drawn.stdout
    assert "raw_orders: passed" in drawn.stdout
    assert HIDE_CURSOR not in quiet.stdout and "checking" not in quiet.stdout
    assert "FAIL" in quiet.stdout  # failures are still shown


@pytest.mark.parametrize("quiet", [False, True])
def test_scaffold_cli_progress(tmp_path: Path, quiet: bool) -> None:
    root = write_project(tmp_path / "p", {}, {"data/raw/stock.csv": "sku,qty\na,1\nb,2\n"}, dvc=False)
    args = ["scaffold", str(root / "data" / "raw" / "stock.csv"), "-p", str(root)]
    done = _run([*args, "--quiet"] if quiet else args, tmp_path / "home", terminal=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "asset_specs" / "stock.yaml").is_file()
    if quiet:
        assert done.stdout == ""
    else:
        assert HIDE_CURSOR in done.stdout and "validating: done" in done.stdout
        assert "wrote" in done.stdout


def test_scaffold_cli_draws_nothing_when_piped(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {}, {"data/raw/stock.csv": "sku,qty\na,1\nb,2\n"}, dvc=False)
    done = _run(
        ["scaffold", str(root / "data" / "raw" / "stock.csv"), "-p", str(root)],
        tmp_path / "home",
        terminal=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert HIDE_CURSOR not in done.stdout and "profiling" not in done.stdout and "wrote" in done.stdout


def test_versions_cli_spinner_only_on_a_terminal(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {}, {"resources/dev.yaml": "dvc:\n  remote: ../remote\n"})
    home = tmp_path / "home"
    drawn = _run(["versions", "pull", "-p", str(root)], home, terminal=True)
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    assert HIDE_CURSOR in drawn.stdout and "current output(s)" in drawn.stdout
    quiet = _run(["versions", "push", "-q", "-p", str(root)], home, terminal=True)
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stdout + quiet.stderr
    piped = _run(["versions", "push", "-p", str(root)], home, terminal=False)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert HIDE_CURSOR not in piped.stdout and "pushed 0 object(s)" in piped.stdout
