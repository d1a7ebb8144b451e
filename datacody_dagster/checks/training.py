"""Asset checks `pii`, `secrets` and `duplicates`, evaluated with the step kernels on DuckDB.

Samples never contain matched values: scan samples show the kinds found and the redacted
text (truncated); duplicate samples show cluster ids and sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import DuplicatesArgs, ScanArgs
from datacody_dagster.steps.base import ROW_KEY
from datacody_dagster.steps.minhash import (
    MinHashParams,
    band_keys,
    buckets_from_keys,
    cluster_candidates,
    signatures,
)
from datacody_dagster.steps.patterns import DETECTOR_SETS
from datacody_dagster.steps.scanner import scan_column

SAMPLE_ROWS = 5
PREVIEW_CHARS = 160


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string_columns(con: Any, relation: str) -> list[str]:
    rows = con.sql(f"describe select * from {relation}").fetchall()
    return [r[0] for r in rows if str(r[1]).upper() in {"VARCHAR", "TEXT", "STRING"}]


def _scan(con: Any, relation: str, check: PlannedCheck) -> CheckOutcome:
    detectors = DETECTOR_SETS[check.kind]
    args = check.params_as(ScanArgs)
    columns = list(args.columns or _string_columns(con, relation))
    max_rate = args.max_rate
    select = ", ".join(_quote(c) for c in columns) or "null as _none"
    query = f"select {select} from {relation}"
    table = con.sql(query).to_arrow_table()
    total = np.zeros((table.num_rows, len(detectors)), dtype=np.int64)
    redacted: dict[str, pa.Array] = {}
    for col in columns:
        result = scan_column(table[col], detectors, redact=True)
        total += result.counts
        if result.redacted is not None:
            redacted[col] = result.redacted
    flagged = np.flatnonzero(total.any(axis=1))
    sample = []
    for row in flagged[:SAMPLE_ROWS].tolist():
        kinds = [d.kind for j, d in enumerate(detectors) if total[row, j]]
        cols = [c for c in columns if c in redacted and redacted[c][row].as_py() != table[c][row].as_py()]
        preview = {c: str(redacted[c][row].as_py())[:PREVIEW_CHARS] for c in cols}
        sample.append({"row": row, "kinds": kinds, **preview})
    n = table.num_rows
    failing = len(flagged)
    return CheckOutcome(
        check=check,
        passed=(failing / n if n else 0.0) <= max_rate,
        failing_rows=failing,
        total_rows=n,
        sample=sample,
        query=query,
        metadata={
            "rows_by_kind": {d.kind: int((total[:, j] > 0).sum()) for j, d in enumerate(detectors)},
            "columns": columns,
            "max_rate": max_rate,
        },
    )


def _duplicates(con: Any, relation: str, check: PlannedCheck) -> CheckOutcome:
    args = check.params_as(DuplicatesArgs)
    column = args.column or "content"
    method, threshold, max_rate = args.method, args.threshold, args.max_rate
    query = f"select {_quote(column)} as t from {relation}"
    table = con.sql(query).to_arrow_table()
    n = table.num_rows
    texts = table["t"].filter(table["t"].is_valid())
    if method == "exact":
        counts = con.sql(
            f"select md5(t)[1:16] as c, count(*) as n from ({query}) where t is not null "
            "group by all having count(*) > 1 order by n desc, c"
        ).fetchall()
        failing = sum(int(c[1]) - 1 for c in counts)
        clusters = [(str(c[0]), int(c[1])) for c in counts]
    else:
        params = MinHashParams(threshold=threshold)
        sig = signatures(texts, params)
        keys = np.arange(len(texts), dtype=np.int64)
        bb, bk, bm = buckets_from_keys(keys, band_keys(sig, params))
        members, reps, sizes = cluster_candidates(bb, bk, bm, keys, sig, threshold)
        failing = int(np.count_nonzero(reps != members))
        rep_rows, first = np.unique(reps, return_index=True)
        clusters = sorted(
            ((f"row {int(r)}", int(sizes[i])) for r, i in zip(rep_rows, first, strict=True) if sizes[i] > 1),
            key=lambda c: -c[1],
        )
    return CheckOutcome(
        check=check,
        passed=(failing / n if n else 0.0) <= max_rate,
        failing_rows=failing,
        total_rows=n,
        sample=[{"cluster": c, "rows": k} for c, k in clusters[:SAMPLE_ROWS]],
        query=query,
        metadata={
            "method": method,
            "clusters": len(clusters),
            "max_rate": max_rate,
            **({"threshold": threshold} if method == "minhash" else {}),
        },
    )


def evaluate_training_check(con: Any, relation: str, check: PlannedCheck) -> CheckOutcome:
    """Evaluate a `pii`, `secrets` or `duplicates` check on ``relation`` (DuckDB SQL source).

    Failing rows: rows with any finding (scans), or rows beyond the first of each duplicate
    cluster. The check passes when failing rows / total rows <= ``max_rate``.
    """
    try:
        if check.kind in DETECTOR_SETS:
            return _scan(con, relation, check)
        if check.kind == "duplicates":
            return _duplicates(con, relation, check)
    except Exception as exc:  # surfaced as a failed check with the reason, never a crash of the run
        return CheckOutcome(
            check=check, passed=False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        )
    return CheckOutcome(check=check, passed=False, error=f"not a training-data check kind: {check.kind}")


__all__ = ["ROW_KEY", "evaluate_training_check"]
