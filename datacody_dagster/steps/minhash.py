"""Vectorised MinHash signatures, LSH banding and clustering (numpy + Arrow kernels).

The same functions run on both engines: the DuckDB engine calls them on the whole table, the
Spark engine calls :func:`signature_batch` inside ``mapInArrow`` and :func:`cluster_candidates`
on the driver with the candidate buckets Spark grouped. Equal inputs give equal clusters.

Shingles are word n-grams (tokens of letters, digits and ``_``, lower-cased). Token hashes are
a stable 64-bit BLAKE2b of the token, computed once per distinct token of a batch, so results do
not depend on how rows are split into batches.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MIX = np.uint64(0x9E3779B97F4A7C15)
_BAND_MIX = np.uint64(0xFF51AFD7ED558CCD)
_EMPTY = np.uint32(0xFFFFFFFF)
_BLOCK_SHINGLES = 1 << 15


@dataclass(frozen=True)
class MinHashParams:
    """Signature and banding parameters of one dedup step."""

    num_perm: int = 128
    ngram: int = 3
    threshold: float = 0.8
    seed: int = 1

    @property
    def bands(self) -> tuple[int, int]:
        """(bands, rows per band) for the threshold, as datasketch's MinHashLSH chooses them."""
        return optimal_bands(self.threshold, self.num_perm)


@lru_cache(maxsize=64)
def optimal_bands(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """Bands ``b`` and rows ``r`` (``b * r <= num_perm``) minimising weighted FP + FN area."""
    best, best_err = (1, num_perm), float("inf")
    lo = np.linspace(0.0, threshold, 200)
    hi = np.linspace(threshold, 1.0, 200)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = np.trapezoid(1 - (1 - lo**r) ** b, lo)
            fn = np.trapezoid((1 - hi**r) ** b, hi)
            err = float(fp * fp_weight + fn * fn_weight)
            if err < best_err:
                best, best_err = (b, r), err
    return best


@lru_cache(maxsize=16)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def shingles(texts: pa.Array | pa.ChunkedArray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes (uint32) and the row each belongs to, grouped by row in ascending order."""
    lower = pc.utf8_lower(texts)
    parts = pc.split_pattern_regex(lower, r"[^\pL\pN_]+")
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    values = pc.list_flatten(parts)
    parents = pc.list_parent_indices(parts)
    keep = pc.greater(pc.binary_length(values), 0)
    values = values.filter(keep)
    parents_np = parents.filter(keep).to_numpy().astype(np.int64)
    if len(values) == 0:
        return np.empty(0, np.uint32), np.empty(0, np.int64)
    encoded = pc.dictionary_encode(values)
    vocab = np.fromiter((_token_hash(t) for t in encoded.dictionary.to_pylist()), np.uint64)
    tok = vocab[encoded.indices.to_numpy()]
    n = len(tok)
    counts = np.bincount(parents_np, minlength=len(texts))
    if ngram > 1 and n >= ngram:
        width = n - ngram + 1
        h = tok[:width].copy()
        for j in range(1, ngram):
            h = (h ^ (h >> np.uint64(29))) * _MIX + tok[j : j + width]
        ok = parents_np[:width] == parents_np[ngram - 1 :]
        sh, rows = h[ok], parents_np[:width][ok]
    else:
        sh, rows = (tok, parents_np) if ngram <= 1 else (np.empty(0, np.uint64), np.empty(0, np.int64))
    if ngram > 1:
        # Documents shorter than one n-gram still get their tokens as shingles.
        short = counts[parents_np] < ngram
        sh = np.concatenate([sh, tok[short]])
        rows = np.concatenate([rows, parents_np[short]])
        order = np.argsort(rows, kind="stable")
        sh, rows = sh[order], rows[order]
    sh = sh * _MIX
    return (sh >> np.uint64(32)).astype(np.uint32), rows


def _minhash_rows(x: np.ndarray, rows: np.ndarray, n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signatures of ``n`` rows from their shingles ``x`` (grouped by ascending ``rows``)."""
    sig = np.full((n, len(a)), _EMPTY, dtype=np.uint32)
    if x.size == 0:
        return sig
    doc_ids, starts = np.unique(rows, return_index=True)
    # Permutations along the first axis so the per-document minimum reduces contiguous memory.
    hashed = np.multiply(a[:, None], x[None, :])
    hashed += b[:, None]
    hashed ^= hashed >> np.uint32(15)
    sig[doc_ids] = np.minimum.reduceat(hashed, starts, axis=1).T
    return sig


def signatures(texts: pa.Array | pa.ChunkedArray, params: MinHashParams) -> np.ndarray:
    """MinHash signatures, shape ``(len(texts), num_perm)``, uint32; empty rows are all-max."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    a, b = _permutations(params.num_perm, params.seed)
    n = len(texts)
    sig = np.empty((n, params.num_perm), dtype=np.uint32)
    # Blocks of rows sized so one block's hash matrix stays in cache-friendly territory.
    avg_len = max(1, texts.nbytes // max(1, n))
    rows_per_block = max(64, min(8192, (_BLOCK_SHINGLES * 8) // avg_len))
    blocks = [(lo, min(n, lo + rows_per_block)) for lo in range(0, n, rows_per_block)]

    def run(block: tuple[int, int]) -> None:
        lo, hi = block
        x, rows = shingles(texts.slice(lo, hi - lo), params.ngram)
        sig[lo:hi] = _minhash_rows(x, rows, hi - lo, a, b)

    workers = max(1, min(len(blocks), os.cpu_count() or 1))
    if workers == 1:
        for blk in blocks:
            run(blk)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, blocks))
    return sig


def band_keys(sig: np.ndarray, params: MinHashParams) -> np.ndarray:
    """One int64 key per (row, band): rows with equal keys in a band are LSH candidates."""
    b, r = params.bands
    parts = sig[:, : b * r].reshape(len(sig), b, r).astype(np.uint64)
    keys = np.zeros((len(sig), b), dtype=np.uint64)
    for j in range(r):
        keys = (keys ^ parts[:, :, j]) * _BAND_MIX
    return keys.view(np.int64)


def buckets_from_keys(row_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate buckets as flat (band, key, row_key) triples, only buckets of 2+ rows."""
    bands, ks, members = [], [], []
    for band in range(keys.shape[1]):
        col = keys[:, band]
        order = np.argsort(col, kind="stable")
        sk = col[order]
        same_next = np.empty(len(sk), dtype=bool)
        same_prev = np.empty(len(sk), dtype=bool)
        if len(sk):
            same_next[:-1] = sk[1:] == sk[:-1]
            same_next[-1] = False
            same_prev[1:] = same_next[:-1]
            same_prev[0] = False
        multi = same_next | same_prev
        bands.append(np.full(int(multi.sum()), band, dtype=np.int64))
        ks.append(sk[multi])
        members.append(row_keys[order][multi])
    if not bands:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(bands), np.concatenate(ks), np.concatenate(members)


def _components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected components by min-label propagation with pointer jumping."""
    label = np.arange(n, dtype=np.int64)
    if u.size == 0:
        return label
    while True:
        lu, lv = label[u], label[v]
        low = np.minimum(lu, lv)
        before = label.copy()
        np.minimum.at(label, lu, low)
        np.minimum.at(label, lv, low)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label, before):
            return label


def cluster_candidates(
    bucket_band: np.ndarray,
    bucket_key: np.ndarray,
    bucket_member: np.ndarray,
    sig_keys: np.ndarray,
    sigs: np.ndarray,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster candidate rows; return ``(row_key, representative row_key, cluster size)``.

    Candidate pairs (each bucket's first member with every other, and neighbours in key order)
    are kept when their signatures agree on at least ``threshold`` of the positions. The
    representative of a cluster is its smallest row key, i.e. its first row in input order.
    ``sig_keys`` must be sorted and hold every member's signature in ``sigs``.
    """
    if bucket_member.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    pos = np.searchsorted(sig_keys, bucket_member)
    order = np.lexsort((pos, bucket_key, bucket_band))
    band, key, pos = bucket_band[order], bucket_key[order], pos[order]
    start = np.ones(len(pos), dtype=bool)
    start[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    first = pos[np.maximum.accumulate(np.where(start, np.arange(len(pos)), 0))]
    prev = np.concatenate([[-1], pos[:-1]])
    u = np.concatenate([first[~start], prev[~start]])
    v = np.concatenate([pos[~start], pos[~start]])
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    m = len(sig_keys)
    pairs = np.unique(lo * m + hi)
    pairs = pairs[(pairs // m) != (pairs % m)]
    u, v = pairs // m, pairs % m
    agree = np.empty(len(u), dtype=np.float64)
    step = max(1, (1 << 22) // max(1, sigs.shape[1]))
    for i in range(0, len(u), step):
        agree[i : i + step] = (sigs[u[i : i + step]] == sigs[v[i : i + step]]).mean(axis=1)
    ok = agree >= threshold
    label = _components(m, u[ok], v[ok])
    size = np.bincount(label, minlength=m)
    return sig_keys, sig_keys[label], size[label]
