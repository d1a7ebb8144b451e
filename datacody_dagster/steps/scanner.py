"""Vectorised scanning for secrets and personal data over Arrow columns.

One RE2 pass with every detector's expression finds candidate rows; per-kind counts on those
rows use RE2 again (``count_substring_regex``); only kinds with a validator (card numbers,
IBANs) and redaction run Python ``re`` on the rows that actually matched. Findings are never
logged: callers get counts and the redacted text only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datacody_dagster.steps.patterns import Detector, combined_regex

_PARALLEL_MIN_ROWS = 20_000


@dataclass(frozen=True)
class ColumnScan:
    """Match counts of one column: ``counts[row, kind]`` for ``detectors`` in order."""

    counts: np.ndarray
    redacted: pa.Array | None = None


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_large_string(values.type) or pa.types.is_string(values.type):
        return values
    return pc.cast(values, pa.string())


def _candidates(values: pa.Array, pattern: str) -> np.ndarray:
    """Row indices where any detector matches (RE2, split across threads for big columns)."""
    n = len(values)
    workers = os.cpu_count() or 1
    if n < _PARALLEL_MIN_ROWS or workers == 1:
        hit = pc.match_substring_regex(values, pattern).fill_null(False)
        return np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    size = -(-n // workers)

    def part(lo: int) -> np.ndarray:
        hit = pc.match_substring_regex(values.slice(lo, size), pattern).fill_null(False)
        return np.flatnonzero(hit.to_numpy(zero_copy_only=False)) + lo

    with ThreadPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(part, range(0, n, size))))


def scan_column(
    values: pa.Array | pa.ChunkedArray, detectors: Sequence[Detector], *, redact: bool
) -> ColumnScan:
    """Count every detector's valid matches per row; optionally return the redacted column."""
    arr = _as_array(values)
    counts = np.zeros((len(arr), len(detectors)), dtype=np.int64)
    idx = _candidates(arr, combined_regex(tuple(detectors)))
    if idx.size == 0:
        return ColumnScan(counts, arr if redact else None)
    sub = arr.take(pa.array(idx))
    for j, det in enumerate(detectors):
        c = pc.count_substring_regex(sub, det.regex).fill_null(0).to_numpy(zero_copy_only=False)
        if det.validator is not None:
            rows = np.flatnonzero(c)
            texts = sub.take(pa.array(rows)).to_pylist()
            c = np.zeros(len(sub), dtype=np.int64)
            c[rows] = [len(det.matches(t)) for t in texts]
        counts[idx, j] = c
    redacted = None
    if redact:
        flagged = idx[counts[idx].any(axis=1)]
        texts = arr.take(pa.array(flagged)).to_pylist()
        for pos, row in enumerate(flagged):
            text = texts[pos]
            for j, det in enumerate(detectors):
                if counts[row, j]:
                    text = det.redact(text)
            texts[pos] = text
        mask = np.zeros(len(arr), dtype=bool)
        mask[flagged] = True
        redacted = (
            pc.replace_with_mask(arr, pa.array(mask), pa.array(texts, type=arr.type)) if len(flagged) else arr
        )
    return ColumnScan(counts, redacted)


def kinds_column(counts: np.ndarray, detectors: Sequence[Detector]) -> pa.Array:
    """A ``list<string>`` column naming the kinds found in each row (empty when none)."""
    hit = counts > 0
    lengths = hit.sum(axis=1)
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    _, kinds = np.nonzero(hit)
    names = np.array([d.kind for d in detectors], dtype=object)
    values = pa.array(names[kinds].tolist() if len(kinds) else [], type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def reference_kinds(text: str | None, detectors: Sequence[Detector]) -> list[str]:
    """Kinds found in one text with plain Python ``re`` (the per-row reference semantics)."""
    if text is None:
        return []
    return [d.kind for d in detectors if d.matches(text)]
