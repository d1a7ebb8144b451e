"""JUnit XML of check outcomes, for CI systems (one test suite per asset)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from datacody_dagster.checks.model import CheckOutcome


def junit_xml(outcomes: Sequence[CheckOutcome], seconds: float = 0.0) -> str:
    """A ``<testsuites>`` document: failed error-severity checks are failures, failed warn-severity
    checks are passing test cases with a system-out note, evaluation problems are errors."""
    root = ET.Element("testsuites", name="datacody checks")
    by_asset: dict[str, list[CheckOutcome]] = {}
    for outcome in outcomes:
        by_asset.setdefault(outcome.check.asset, []).append(outcome)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for asset, items in by_asset.items():
        suite = ET.SubElement(root, "testsuite", name=asset)
        counts = {"tests": len(items), "failures": 0, "errors": 0}
        for o in items:
            case = ET.SubElement(suite, "testcase", classname=f"datacody.{asset}", name=o.check.name)
            detail = (
                f"{o.check.description}\nfailing rows: {o.failing_rows} of {o.total_rows}\nquery: {o.query}"
            )
            if o.sample:
                detail += "\nsample: " + json.dumps(o.sample, default=str)
            if o.error is not None and o.check.blocking:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=o.error).text = detail
            elif not o.passed and o.check.blocking:
                counts["failures"] += 1
                msg = f"{o.check.kind} failed: {o.failing_rows} failing rows"
                ET.SubElement(case, "failure", message=msg, type=o.check.kind).text = detail
            elif not o.passed:
                ET.SubElement(case, "system-out").text = "warning (severity warn): " + detail
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, outcomes: Sequence[CheckOutcome], seconds: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(outcomes, seconds), encoding="utf-8")
