"""Uniqueness and referential integrity: the costly checks, done by hashing.

Exact uniqueness is where the time goes. All unique checks of a target are settled together,
each by the cheapest exact proof that applies:

- an integer key whose range is known (footer or row pass) is counted with a bitmap
  (``bitstring_agg``: one bit per possible value), folded into the row pass when the footer
  gives the range;
- a composite key containing a column already proven unique (with at most one null) is unique;
- other keys: one scan returns the 64-bit hash of every key, sorted in numpy (vectorised, far
  cheaper than a DuckDB hash aggregate over millions of groups). Equal keys have equal hashes,
  so no two equal adjacent hashes proves uniqueness exactly. Approximate counts (HyperLogLog)
  are never used: they can prove a duplicate, never its absence.

Only when a duplicate hash shows up (a duplicate key or a collision) is the exact grouping run,
for the verdict, failing counts and sample.
"""

from __future__ import annotations

from typing import Any

import duckdb

from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.key_queries import key_columns, orphan_counts_query
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.sqltext import failing_rows_query, ident
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import RelationshipsArgs

BITMAP_MAX_RANGE = 1 << 28  # 32 MiB of bits
HASH_SORT_MAX_BYTES = 2 << 30  # hashes held in memory at once (8 bytes per row and key)
HASH_SORT_BATCH = 4  # keys hashed per scan


def integer_key_column(ctx: EvalContext, check: PlannedCheck) -> str | None:
    """The column of a single-column unique check on an integer type."""
    cols = key_columns(check)
    return cols[0] if len(cols) == 1 and ctx.is_integer(cols[0]) else None


def bitmap_terms(col: str, lo: Any, hi: Any) -> list[str] | None:
    """Aggregates proving ``col`` unique with a bitmap (non-null count, distinct count), or None
    when the range is unknown or too wide for a bitmap."""
    if lo is None or hi is None or int(hi) - int(lo) >= BITMAP_MAX_RANGE:
        return None
    c = ident(col)
    return [f"count({c})", f"bit_count(bitstring_agg({c}::bigint, {int(lo)}, {int(hi)}))"]


def hash_sql(cols: list[str]) -> str:
    """The 64-bit key hash. Equal keys have equal hashes, which is all the proofs below rely on
    (tests swap in a tiny hash to force collisions)."""
    return f"hash({', '.join(ident(c) for c in cols)})"


def unique_outcomes(
    ctx: EvalContext,
    checks: list[PlannedCheck],
    bounds: dict[str, tuple[Any, Any]],
    bitmaps: dict[str, tuple[int, int]],
) -> dict[int, CheckOutcome]:
    """Outcomes of all unique checks of one target (keyed by ``id(check)``), sharing the work.

    Per check, the cheapest exact proof that applies: a bitmap count already taken in the row
    pass (``bitmaps``: column -> (non-null count, distinct count)); one shared bitmap query for
    the remaining bounded integer keys; a composite key containing a column proven unique with at
    most one null (tuples differing in that column differ); and for the rest one shared query
    returning every key's hash, sorted in numpy: no equal adjacent hashes proves uniqueness,
    and an equal pair (a duplicate or a hash collision) sends that check to the exact grouping.
    """
    out: dict[int, CheckOutcome] = {}
    proven: dict[str, tuple[str, int]] = {}  # column -> (method, non-null count) when unique
    clean: dict[int, str] = {}
    dirty: dict[int, str] = {}
    extra: list[tuple[str, list[str]]] = []
    for check in checks:
        col = integer_key_column(ctx, check)
        if col is None or col in bitmaps:
            continue
        terms = bitmap_terms(col, *bounds.get(col, (None, None)))
        if terms is not None and col not in [c for c, _ in extra]:
            extra.append((col, terms))
    if extra:
        try:
            row = ctx.con.execute(
                f"select {', '.join(t for _, ts in extra for t in ts)} from {ctx.target.relation}"
            ).fetchall()[0]
            for j, (col, _) in enumerate(extra):
                bitmaps[col] = (int(row[2 * j]), int(row[2 * j + 1]))
        except duckdb.Error:
            pass  # hashed below
    hashed: list[PlannedCheck] = []
    errors: dict[int, str] = {}
    for check in sorted(checks, key=lambda c: len(key_columns(c))):
        cols: list[str] = key_columns(check)
        col = integer_key_column(ctx, check)
        if col is not None and col in bitmaps:
            count, distinct = bitmaps[col]
            (clean if count == distinct else dirty)[id(check)] = "bitmap"
            if count == distinct:
                proven[col] = ("bitmap", count)
            continue
        implied = [c for c in cols if c in proven and ctx.row_count - proven[c][1] <= 1]
        if len(cols) > 1 and implied:
            clean[id(check)] = f"implied_by_unique({implied[0]})"
            continue
        hashed.append(check)
    sorted_ok = _hash_sort(ctx, hashed)
    for check in hashed:
        cols = key_columns(check)
        ok = sorted_ok.get(id(check))
        method = "hash_sort"
        if ok is None:
            method = "hash_group"
            try:
                ok = _hash_group(ctx, cols)
            except duckdb.Error as exc:
                errors[id(check)] = str(exc).strip().splitlines()[0]
                continue
        (clean if ok else dirty)[id(check)] = method
    for check in checks:
        key = id(check)
        if key in errors:
            query = failing_rows_query(check, ctx.target.relation)
            out[key] = CheckOutcome(check, False, 0, ctx.row_count, query=query, error=errors[key])
        else:
            out[key] = _unique_result(ctx, check, clean.get(key) or dirty[key], key in clean)
    return out


def _unique_result(ctx: EvalContext, check: PlannedCheck, method: str, clean: bool) -> CheckOutcome:
    cols: list[str] = key_columns(check)
    query = failing_rows_query(check, ctx.target.relation)
    if clean:
        return CheckOutcome(check, True, 0, ctx.row_count, query=query, metadata={"method": method})
    try:
        keys, rows = ctx.con.execute(f"select count(*), coalesce(sum(n), 0) from ({query})").fetchall()[0]
    except duckdb.Error as exc:
        return CheckOutcome(check, False, 0, ctx.row_count, query=query, error=str(exc).splitlines()[0])
    sample = ctx.sample(f"{query} order by n desc", cols) if keys else []
    return CheckOutcome(
        check,
        keys == 0,
        int(rows),
        ctx.row_count,
        sample,
        query,
        metadata={"method": f"{method}+exact_group", "duplicate_keys": int(keys)},
    )


def _hash_sort(ctx: EvalContext, checks: list[PlannedCheck]) -> dict[int, bool]:
    """By ``id(check)``: True when the key hashes are all distinct (proves uniqueness), False when
    two are equal (a duplicate or a collision: the caller confirms exactly). Checks whose hashes
    do not fit in memory, or whose query fails, are left out (the SQL grouping handles them)."""
    result: dict[int, bool] = {}
    per_batch = min(HASH_SORT_BATCH, HASH_SORT_MAX_BYTES // (8 * max(ctx.row_count, 1)))
    if not checks or per_batch < 1:
        return result
    for start in range(0, len(checks), per_batch):
        batch = checks[start : start + per_batch]
        terms = []
        for j, check in enumerate(batch):
            cols = key_columns(check)
            h = hash_sql(cols)
            # single-column uniqueness ignores nulls (as dbt does); composite keys group them
            stats = ctx.footer.columns.get(cols[0]) if ctx.footer is not None else None
            if len(cols) == 1 and (stats is None or stats.null_count != 0):
                terms.append(f"case when {ident(cols[0])} is not null then {h} end as h{j}")
            else:
                terms.append(f"{h} as h{j}")
        try:
            table = ctx.con.sql(f"select {', '.join(terms)} from {ctx.target.relation}").to_arrow_table()
        except duckdb.Error:
            continue
        for j, check in enumerate(batch):
            result[id(check)] = _all_distinct(table.column(j))
        del table
    return result


def _all_distinct(hashes: Any) -> bool:
    """Whether a (chunked) Arrow array of hashes holds no value twice, nulls left out."""
    import numpy as np

    if hashes.null_count:
        hashes = hashes.drop_null()
    ordered = _integer_values(hashes)
    if ordered.flags.writeable:  # a concatenated copy already: sort it in place
        ordered.sort()
    else:
        ordered = np.sort(ordered)
    return not bool(np.any(ordered[1:] == ordered[:-1]))


def _integer_values(values: Any) -> Any:
    """A null-free (chunked) Arrow array of 64-bit integers as one numpy array.

    Read from the Arrow buffers directly: pyarrow's ``to_numpy`` imports pandas (~0.4 CPU-s,
    once per process) to look for pandas extension types, in a run that otherwise never needs
    pandas. Other types (a test's small hash) take ``to_numpy``.
    """
    import numpy as np
    import pyarrow as pa

    dtypes = {pa.uint64(): np.uint64, pa.int64(): np.int64}
    chunks = getattr(values, "chunks", [values])
    if values.null_count or not chunks or any(c.type not in dtypes for c in chunks):
        return values.to_numpy()
    parts = [
        np.frombuffer(c.buffers()[1], dtype=dtypes[c.type], count=len(c), offset=c.offset * 8) for c in chunks
    ]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _hash_group(ctx: EvalContext, cols: list[str]) -> bool:
    """The SQL fallback: group on the key hash; no hash seen twice proves uniqueness."""
    where = f" where {ident(cols[0])} is not null" if len(cols) == 1 else ""
    row = ctx.con.execute(
        f"select count(*) from (select {hash_sql(cols)} as h from {ctx.target.relation}{where}"
        " group by h having count(*) > 1)"
    ).fetchall()[0]
    return bool(row[0] == 0)


def relationships_outcome(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    args = check.params_as(RelationshipsArgs)
    resolve = ctx.target.resolve
    if resolve is None:
        return CheckOutcome(check, False, error=f"cannot resolve {args.to!r}: no resolver given")
    try:
        parent = resolve(args.to)
    except Exception as exc:
        return CheckOutcome(check, False, error=f"cannot resolve {args.to!r}: {exc}")
    query = failing_rows_query(check, ctx.target.relation, parent)
    try:
        counting = orphan_counts_query(check, ctx.target.relation, parent, "duckdb")
        row = ctx.con.execute(counting).fetchone()
        assert row is not None
        missing_keys, failing = int(row[0]), int(row[1])
        sample = ctx.sample(query, [args.column or ""]) if failing else []
    except duckdb.Error as exc:
        return CheckOutcome(check, False, 0, ctx.row_count, query=query, error=str(exc).splitlines()[0])
    return CheckOutcome(
        check,
        failing == 0,
        failing,
        ctx.row_count,
        sample,
        query,
        metadata={"method": "hash_anti_join", "missing_keys": missing_keys, "parent": args.to},
    )
