"""`scan_secrets` / `scan_pii: {columns, action: flag|redact|drop}`.

``flag`` adds a ``secret_kinds`` / ``pii_kinds`` list column naming what was found in each row;
``redact`` also replaces each finding with a typed placeholder (``<EMAIL>``, ``<PASSWORD>``...);
``drop`` removes the rows with any finding. Counts per kind go to metadata; matched text never
does.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from datacody_dagster.spec.steps import ScanArgs
from datacody_dagster.steps.base import PERSISTED, Metadata, StepKind, require_columns, text_columns
from datacody_dagster.steps.patterns import DETECTOR_SETS, Detector
from datacody_dagster.steps.scanner import kinds_column, scan_column

KINDS_COLUMN = {"secrets": "secret_kinds", "pii": "pii_kinds"}
_COUNT_PREFIX = "_dc_n_"


def _detectors(target: str) -> tuple[Detector, ...]:
    return DETECTOR_SETS[target]


def scan_columns_of(schema: pa.Schema, args: ScanArgs) -> list[str]:
    """The columns a scan reads: the named ones, or every string column but the kinds lists."""
    if args.columns:
        return list(args.columns)
    return text_columns(schema, exclude=tuple(KINDS_COLUMN.values()))


def count_matches(
    table: pa.Table, columns: list[str], detectors: tuple[Detector, ...], redact: bool
) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """Per-row, per-kind match counts summed over ``columns``, and the redacted columns."""
    total = np.zeros((table.num_rows, len(detectors)), dtype=np.int64)
    redacted: dict[str, pa.Array] = {}
    for col in columns:
        result = scan_column(table[col], detectors, redact=redact)
        total += result.counts
        if result.redacted is not None:
            redacted[col] = result.redacted
    return total, redacted


def scan_table(table: pa.Table, args: ScanArgs, target: str) -> pa.Table:
    """Row-local kernel: redact if asked, add the kinds list and hidden per-kind count columns."""
    detectors = _detectors(target)
    counts, redacted = count_matches(
        table, scan_columns_of(table.schema, args), detectors, redact=args.action == "redact"
    )
    for col, values in redacted.items():
        table = table.set_column(table.schema.get_field_index(col), col, values)
    kinds_name = KINDS_COLUMN[target]
    if kinds_name in table.column_names:
        table = table.drop_columns([kinds_name])
    table = table.append_column(pa.field(kinds_name, pa.list_(pa.string())), kinds_column(counts, detectors))
    for j, det in enumerate(detectors):
        table = table.append_column(pa.field(_COUNT_PREFIX + det.kind, pa.int64()), pa.array(counts[:, j]))
    return table


def _metadata(
    detectors: tuple[Detector, ...], rows: dict[str, int], matches: dict[str, int], flagged: int, action: str
) -> Metadata:
    return {
        "action": action,
        "rows_flagged": int(flagged),
        "rows_by_kind": {d.kind: int(rows.get(d.kind, 0)) for d in detectors},
        "matches_by_kind": {d.kind: int(matches.get(d.kind, 0)) for d in detectors},
    }


def run_arrow(table: pa.Table, args: ScanArgs, target: str) -> tuple[pa.Table, Metadata]:
    require_columns(scan_columns_of(table.schema, args), table.column_names, f"scan_{target}")
    detectors = _detectors(target)
    out = scan_table(table, args, target)
    hidden = [_COUNT_PREFIX + d.kind for d in detectors]
    counts = (
        np.column_stack([out[h].to_numpy() for h in hidden]) if out.num_rows else np.zeros((0, len(hidden)))
    )
    any_hit = counts.sum(axis=1) > 0 if out.num_rows else np.zeros(0, dtype=bool)
    meta = _metadata(
        detectors,
        {d.kind: int((counts[:, j] > 0).sum()) for j, d in enumerate(detectors)},
        {d.kind: int(counts[:, j].sum()) for j, d in enumerate(detectors)},
        int(any_hit.sum()),
        args.action,
    )
    out = out.drop_columns(hidden)
    if args.action == "drop":
        out = out.filter(pa.array(~any_hit)).drop_columns([KINDS_COLUMN[target]])
    return out, meta


def run_spark(df: Any, args: ScanArgs, target: str) -> tuple[Any, Metadata]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from datacody_dagster.steps.spark_util import map_batches, table_kernel, with_fields

    require_columns(scan_columns_of(_arrow_schema(df), args), df.columns, f"scan_{target}")
    detectors = _detectors(target)
    kinds_name = KINDS_COLUMN[target]
    added = [pa.field(kinds_name, pa.list_(pa.string()))] + [
        pa.field(_COUNT_PREFIX + d.kind, pa.int64()) for d in detectors
    ]
    schema = with_fields(df, added, drop=(kinds_name,))
    scanned = map_batches(df, table_kernel(partial(scan_table, args=args, target=target)), schema)
    scanned = scanned.persist(StorageLevel.MEMORY_AND_DISK)
    hidden = [_COUNT_PREFIX + d.kind for d in detectors]
    aggs = [F.sum(F.col(h)).alias("m_" + h) for h in hidden]
    aggs += [F.sum((F.col(h) > 0).cast("long")).alias("r_" + h) for h in hidden]
    aggs.append(F.sum((F.size(F.col(kinds_name)) > 0).cast("long")).alias("flagged"))
    row = scanned.agg(*aggs).collect()[0]
    meta: Metadata = _metadata(
        detectors,
        {d.kind: row["r_" + h] or 0 for d, h in zip(detectors, hidden, strict=True)},
        {d.kind: row["m_" + h] or 0 for d, h in zip(detectors, hidden, strict=True)},
        row["flagged"] or 0,
        args.action,
    )
    out = scanned.drop(*hidden)
    if args.action == "drop":
        out = out.filter(F.size(F.col(kinds_name)) == 0).drop(kinds_name)
    meta[PERSISTED] = [scanned]
    return out, meta


def _arrow_schema(df: Any) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


SECRETS = StepKind(
    "scan_secrets",
    ScanArgs,
    partial(run_arrow, target="secrets"),
    partial(run_spark, target="secrets"),
    description="Find API keys, private keys, tokens and passwords in assignments.",
)
PII = StepKind(
    "scan_pii",
    ScanArgs,
    partial(run_arrow, target="pii"),
    partial(run_spark, target="pii"),
    description="Find emails, phone numbers, Luhn-valid card numbers and IBANs.",
)
