"""Secret and PII scanning: recall and precision on a planted corpus, actions, reference parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacody_dagster.steps.patterns import PII_DETECTORS, SECRET_DETECTORS, iban_ok, luhn_ok
from datacody_dagster.steps.runner import run_steps_asset
from datacody_dagster.steps.scanner import reference_kinds, scan_column
from tests.steps.planted import PII_SAMPLES, SECRET_SAMPLES

ALL = SECRET_DETECTORS + PII_DETECTORS


def _found(planted_scan) -> list[set[str]]:  # type: ignore[no-untyped-def]
    counts = scan_column(planted_scan.table["content"], ALL, redact=False).counts
    return [{ALL[j].kind for j in np.flatnonzero(row)} for row in counts]


@pytest.mark.parametrize("kind", [*SECRET_SAMPLES, *PII_SAMPLES])
def test_recall_is_total_and_precision_high_per_kind(planted_scan, kind: str) -> None:  # type: ignore[no-untyped-def]
    found = _found(planted_scan)
    planted = [i for i, t in enumerate(planted_scan.truth) if kind in t]
    flagged = [i for i, f in enumerate(found) if kind in f]
    assert planted, "the corpus plants every kind"
    recall = len(set(planted) & set(flagged)) / len(planted)
    precision = len(set(planted) & set(flagged)) / len(flagged)
    assert recall == 1.0
    assert precision >= 0.95


def test_clean_rows_are_not_flagged(planted_scan) -> None:  # type: ignore[no-untyped-def]
    found = _found(planted_scan)
    false_flags = [i for i, (f, t) in enumerate(zip(found, planted_scan.truth, strict=True)) if f - t]
    assert false_flags == []


def test_vectorised_scan_equals_per_row_reference(planted_scan) -> None:  # type: ignore[no-untyped-def]
    found = _found(planted_scan)
    reference = [set(reference_kinds(t, ALL)) for t in planted_scan.table["content"].to_pylist()]
    assert found == reference


def test_validators() -> None:
    assert luhn_ok("4111 1111 1111 1111") and not luhn_ok("4111 1111 1111 1112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    counts = scan_column(pa.array(["card 4111 1111 1111 1112", None, ""]), PII_DETECTORS, redact=False).counts
    assert counts.sum() == 0


def _write(tmp_path: Path, texts: list[str]) -> Path:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": list(range(len(texts))), "content": texts}), path)
    return path


def test_redact_replaces_findings_with_typed_placeholders(tmp_path: Path) -> None:
    texts = [
        'db_password = "S3cr3t!Pass"\nkey = "AKIA' + 'Q3X7ZP2L9M4N8B6V"',
        "write to jane.doe@example.org or call (415) 555-0100",
        "card 4111 1111 1111 1111, iban GB82 WEST 1234 5698 7654 32",
        "nothing to see",
    ]
    out = tmp_path / "out.parquet"
    meta = run_steps_asset(
        _write(tmp_path, texts),
        [{"scan_secrets": {"action": "redact"}}, {"scan_pii": {"action": "redact"}}],
        out,
    )
    rows = pq.read_table(out).to_pylist()
    assert rows[0]["content"] == 'db_password = "<PASSWORD>"\nkey = "<AWS_ACCESS_KEY>"'
    assert rows[1]["content"] == "write to <EMAIL> or call <PHONE>"
    assert rows[2]["content"] == "card <CREDIT_CARD>, iban <IBAN>"
    assert rows[3]["content"] == "nothing to see"
    assert rows[0]["secret_kinds"] == ["aws_access_key", "password"]
    assert rows[2]["pii_kinds"] == ["iban", "credit_card"]
    assert meta["scan"]["secrets"]["rows_by_kind"]["password"] == 1
    assert meta["scan"]["pii"]["matches_by_kind"]["email"] == 1
    assert "S3cr3t" not in str(meta)


def test_drop_removes_flagged_rows_and_counts_them(tmp_path: Path) -> None:
    texts = ["ok line", 'token: "ghp_' + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + '"', "also fine"]
    out = tmp_path / "out.parquet"
    meta = run_steps_asset(
        _write(tmp_path, texts), [{"scan_secrets": {"columns": ["content"], "action": "drop"}}], out
    )
    table = pq.read_table(out)
    assert table["id"].to_pylist() == [0, 2]
    assert "secret_kinds" not in table.column_names
    assert meta["scan"]["secrets"]["rows_flagged"] == 1
    assert meta["steps"][0]["rows_out"] == 2
