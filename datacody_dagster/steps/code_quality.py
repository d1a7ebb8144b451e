"""`code_quality: {column, language, min_lines, ...}`: drop files that do not parse or fall
outside the thresholds, and add structure columns (parsed, functions, classes, lines,
comment_ratio)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datacody_dagster.spec.steps import CodeQualityArgs
from datacody_dagster.steps.base import Metadata, StepKind, require_columns
from datacody_dagster.steps.quality import CodeStats, analyse

ADDED = (
    pa.field("parsed", pa.bool_()),
    pa.field("functions", pa.int64()),
    pa.field("classes", pa.int64()),
    pa.field("lines", pa.int64()),
    pa.field("comment_ratio", pa.float64()),
)
_ADDED_NAMES = tuple(f.name for f in ADDED)


def _languages(table: pa.Table, args: CodeQualityArgs) -> list[str]:
    if args.language:
        return [args.language] * table.num_rows
    if args.language_column in table.column_names:
        return [v or "unknown" for v in table[args.language_column].to_pylist()]
    return ["python"] * table.num_rows


def _passes(s: CodeStats, args: CodeQualityArgs) -> bool:
    checks = (
        not (s.parsed is False and args.drop_unparsed),
        s.lines >= args.min_lines,
        args.max_lines is None or s.lines <= args.max_lines,
        args.max_line_length is None or s.max_line_length <= args.max_line_length,
        args.min_comment_ratio is None or s.comment_ratio >= args.min_comment_ratio,
        args.max_comment_ratio is None or s.comment_ratio <= args.max_comment_ratio,
    )
    return all(checks)


def quality_table(table: pa.Table, args: CodeQualityArgs) -> pa.Table:
    """Add the structure columns and drop rows failing the thresholds (row-local kernel)."""
    texts = table[args.column].to_pylist()
    stats = [
        None if t is None else analyse(t, lang)
        for t, lang in zip(texts, _languages(table, args), strict=True)
    ]
    keep = np.array([s is not None and _passes(s, args) for s in stats], dtype=bool)
    base = table.drop_columns([c for c in _ADDED_NAMES if c in table.column_names])
    columns = {
        "parsed": [s.parsed if s else None for s in stats],
        "functions": [s.functions if s else None for s in stats],
        "classes": [s.classes if s else None for s in stats],
        "lines": [s.lines if s else None for s in stats],
        "comment_ratio": [s.comment_ratio if s else None for s in stats],
    }
    for f in ADDED:
        base = base.append_column(f, pa.array(columns[f.name], type=f.type))
    return base.filter(pa.array(keep))


def _unchecked(out: pa.Table) -> int:
    """Rows kept without a parser for their language (no tree-sitter grammar installed)."""
    return int(pc.sum(pc.is_null(out["parsed"]).cast(pa.int64())).as_py() or 0)


def run_arrow(table: pa.Table, args: CodeQualityArgs) -> tuple[pa.Table, Metadata]:
    require_columns([args.column], table.column_names, "code_quality")
    out = quality_table(table, args)
    return out, {"unchecked_rows": _unchecked(out)}


def run_spark(df: Any, args: CodeQualityArgs) -> tuple[Any, Metadata]:
    from datacody_dagster.steps.spark_util import map_batches, table_kernel, with_fields

    require_columns([args.column], df.columns, "code_quality")
    schema = with_fields(df, ADDED, drop=_ADDED_NAMES)
    out = map_batches(df, table_kernel(partial(quality_table, args=args)), schema)
    from pyspark.sql import functions as F

    # Column-valued metadata is aggregated by the runner in the pass that counts the step's rows.
    return out, {"unchecked_rows": F.sum(F.col("parsed").isNull().cast("long"))}


STEP = StepKind(
    "code_quality",
    CodeQualityArgs,
    run_arrow,
    run_spark,
    description="Drop code that does not parse or breaks thresholds; add structure columns.",
)
