"""`datacody check` exit codes and JUnit XML; `suggest-checks` proposals and the spec round trip."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from datacody_dagster.checks.selection import select_nodes
from datacody_dagster.checks.suggest import suggest_checks, suggestions_yaml, write_suggestions
from datacody_dagster.cli.main import app
from datacody_dagster.compiler import compile_project
from tests.conftest import write_project

SPEC = """\
# shop data (this comment must survive --write)
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
    checks:
      - unique: id            # the key
      - not_null: [id, status]
      - accepted_values: {column: status, values: [placed, shipped]}
      - {range: {column: amount, min: 0}, severity: warn}
"""


def _project(root: Path, rows: list[str]) -> Path:
    csv = "id,status,amount,code\n" + "\n".join(rows) + "\n"
    return write_project(root, {"shop.yaml": SPEC}, {"data/raw/orders.csv": csv}, dvc=False)


def _clean_rows(n: int = 30) -> list[str]:
    return [f"{i},{'placed' if i % 2 else 'shipped'},{i * 2.5},AB-{i:03d}" for i in range(1, n + 1)]


def test_check_passes_and_writes_junit(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", _clean_rows())
    junit = tmp_path / "out" / "checks.xml"
    result = CliRunner().invoke(app, ["check", "--project-dir", str(root), "--junit-xml", str(junit)])
    assert result.exit_code == 0, result.output
    assert "raw_orders" in result.output and "pass" in result.output
    suites = ET.parse(junit).getroot()
    assert suites.get("tests") == "5" and suites.get("failures") == "0"


def test_check_fails_on_error_severity_and_names_the_checks(tmp_path: Path) -> None:
    rows = [*_clean_rows(), "3,lost,1.0,AB-003", "31,,-4.0,AB-031"]
    root = _project(tmp_path / "p", rows)
    junit = tmp_path / "checks.xml"
    result = CliRunner().invoke(
        app, ["check", "-p", str(root), "--select", "group:shop", "--junit-xml", str(junit)]
    )
    assert result.exit_code == 1
    assert "raw_orders.unique_id" in result.output and "raw_orders.accepted_values_status" in result.output
    assert "raw_orders.not_null_status" in result.output
    suites = ET.parse(junit).getroot()
    failed = {c.get("name") for c in suites.iter("testcase") if c.find("failure") is not None}
    assert failed == {"unique_id", "not_null_status", "accepted_values_status"}
    warned = {c.get("name") for c in suites.iter("testcase") if c.find("system-out") is not None}
    assert warned == {"range_amount"}


def test_warn_only_failures_exit_zero(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", [*_clean_rows(), "99,placed,-1.0,AB-099"])
    result = CliRunner().invoke(app, ["check", "-p", str(root)])
    assert result.exit_code == 0, result.output
    assert "warn" in result.output


def test_unknown_selection_is_a_clear_error(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", _clean_rows())
    result = CliRunner().invoke(app, ["check", "-p", str(root), "--select", "nope"])
    assert result.exit_code == 1
    assert "unknown asset 'nope'" in result.output and "Traceback" not in result.output


def test_suggestions_and_write_keep_comments(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", _clean_rows())
    project = compile_project(root)
    node = select_nodes(project, ["raw_orders"])[0]
    report = suggest_checks(project, node)
    entries = [s.entry for s in report.suggestions]
    # one batch of history: everything starts as warn
    assert {e.get("severity") for e in entries} == {"warn"}
    assert {"not_null": ["code"], "severity": "warn"} in entries  # distinct text: a key-like column
    # 30 rows cannot promise that a measure is never null: a fraction bound instead
    assert {"null_fraction": {"column": "amount", "max": 0.3}, "severity": "warn"} in entries
    assert not any(e.get("not_null") == ["id"] for e in entries)  # already there
    assert {"regex": {"column": "code", "pattern": "[A-Z]{2}-[0-9]{3}"}, "severity": "warn"} in entries
    assert not any("range" in e and e["range"]["column"] == "amount" for e in entries)  # already there
    snippet = suggestions_yaml(report.suggestions)
    assert "suggested from 1 batch:" in snippet and "not_null: [code]" in snippet
    path = write_suggestions(project, node, report.suggestions)
    text = path.read_text()
    assert text.startswith("# shop data (this comment must survive --write)")
    assert "- unique: id            # the key" in text
    after = compile_project(root).plan.node("raw_orders")
    assert len(after.checks) == len(node.checks) + sum(len(e.get("not_null", [None])) for e in entries)
    assert CliRunner().invoke(app, ["check", "-p", str(root)]).exit_code == 0
