"""Uniqueness and referential integrity: the costly checks, done by hashing.

Exact uniqueness is where the time goes (a hash aggregate over every key). Two cheaper exact
proofs come first: an integer key whose range is known (footer or row pass) is counted with a
bitmap (``bitstring_agg``: one bit per possible value, ~10x faster than hashing), and other
keys are grouped on a 64-bit hash of the key, which proves absence of duplicates exactly (equal
keys have equal hashes). Only when a duplicate hash shows up is the exact grouping run, for the
failing counts and sample.
"""

from __future__ import annotations

from typing import Any

import duckdb

from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.sqltext import failing_rows_query, ident
from datacody_dagster.compiler.checks import PlannedCheck

BITMAP_MAX_RANGE = 1 << 28  # 32 MiB of bits


def integer_key_column(ctx: EvalContext, check: PlannedCheck) -> str | None:
    """The column of a single-column unique check on an integer type."""
    cols = check.args["columns"]
    return cols[0] if len(cols) == 1 and ctx.is_integer(cols[0]) else None


def unique_outcome(ctx: EvalContext, check: PlannedCheck, bounds: tuple[Any, Any] | None) -> CheckOutcome:
    cols: list[str] = list(check.args["columns"])
    relation = ctx.target.relation
    query = failing_rows_query(check, relation)
    try:
        method, clean = _prove_unique(ctx, cols, bounds)
        if clean:
            return CheckOutcome(check, True, 0, ctx.row_count, query=query, metadata={"method": method})
        keys, rows = ctx.con.execute(f"select count(*), coalesce(sum(n), 0) from ({query})").fetchone() or (
            0,
            0,
        )
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


def _prove_unique(ctx: EvalContext, cols: list[str], bounds: tuple[Any, Any] | None) -> tuple[str, bool]:
    relation = ctx.target.relation
    if len(cols) == 1 and ctx.is_integer(cols[0]) and bounds and None not in bounds:
        lo, hi = int(bounds[0]), int(bounds[1])
        if hi - lo < BITMAP_MAX_RANGE:
            col = ident(cols[0])
            row = ctx.con.execute(
                f"select count({col}), bit_count(bitstring_agg({col}::bigint, {lo}, {hi})) from {relation}"
            ).fetchone()
            assert row is not None
            return "bitmap", row[0] == row[1]
        # too sparse for a bitmap: hash as below
    key = ", ".join(ident(c) for c in cols)
    where = f" where {ident(cols[0])} is not null" if len(cols) == 1 else ""
    row = ctx.con.execute(
        f"select count(*) from (select hash({key}) as h from {relation}{where}"
        " group by h having count(*) > 1)"
    ).fetchone()
    assert row is not None
    return "hash_group", row[0] == 0


def relationships_outcome(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    args = check.args
    resolve = ctx.target.resolve
    if resolve is None:
        return CheckOutcome(check, False, error=f"cannot resolve {args['to']!r}: no resolver given")
    try:
        parent = resolve(args["to"])
    except Exception as exc:
        return CheckOutcome(check, False, error=f"cannot resolve {args['to']!r}: {exc}")
    query = failing_rows_query(check, ctx.target.relation, parent)
    try:
        # Distinct child keys first: the anti-join then probes each key once.
        col, field = ident(args["column"]), ident(args["field"])
        row = ctx.con.execute(
            f"with k as (select {col} as key, count(*) as n from {ctx.target.relation} "
            f"where {col} is not null group by 1) "
            f"select count(*), coalesce(sum(n), 0) from k where not exists "
            f"(select 1 from {parent} as parent where parent.{field} = k.key)"
        ).fetchone()
        assert row is not None
        missing_keys, failing = int(row[0]), int(row[1])
        sample = ctx.sample(query, [args["column"]]) if failing else []
    except duckdb.Error as exc:
        return CheckOutcome(check, False, 0, ctx.row_count, query=query, error=str(exc).splitlines()[0])
    return CheckOutcome(
        check,
        failing == 0,
        failing,
        ctx.row_count,
        sample,
        query,
        metadata={"method": "hash_anti_join", "missing_keys": missing_keys, "parent": args["to"]},
    )
