"""One aggregate pass for all row-level checks of a target.

``count(*) filter (where <failing predicate>)`` per check, the row count, the newest value of
freshness columns and min/max of integer key columns (for the key module), in a single query.
A check whose expression breaks the shared query (a typo in `expression`) is retried alone, so
one bad check never hides the others' verdicts.
"""

from __future__ import annotations

from typing import Any

import duckdb

from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.freshness import freshness_outcome
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.sqltext import (
    ROW_PREDICATE_KINDS,
    failing_predicate,
    failing_rows_query,
    ident,
)
from datacody_dagster.compiler.checks import PlannedCheck

SCAN = {"method": "aggregate_scan"}


def _terms(check: PlannedCheck) -> list[str]:
    if check.kind in ROW_PREDICATE_KINDS:
        return [f"count(*) filter (where {failing_predicate(check)})"]
    if check.kind == "freshness":
        return [f"max({ident(check.args['column'])})"]
    return []


def row_pass(
    ctx: EvalContext, checks: list[PlannedCheck], key_bounds: list[str]
) -> tuple[list[CheckOutcome], dict[str, tuple[Any, Any]]]:
    """Outcomes of ``checks`` (row predicates, freshness, row_count) and min/max of ``key_bounds``."""
    terms: list[str] = ["count(*)"]
    spans: list[tuple[PlannedCheck, int, int]] = []
    bad: list[tuple[PlannedCheck, str]] = []
    for check in checks:
        try:
            parts = _terms(check)
        except Exception as exc:  # e.g. an unreadable max_age
            bad.append((check, str(exc)))
            continue
        spans.append((check, len(terms), len(terms) + len(parts)))
        terms.extend(parts)
    for col in key_bounds:
        terms += [f"min({ident(col)})", f"max({ident(col)})"]
    try:
        values = _run(ctx, terms)
    except duckdb.Error:
        return _one_by_one(ctx, spans, bad, key_bounds)
    total = int(values[0])
    ctx.set_row_count(total)
    outcomes = [_outcome(ctx, check, values[a:b], total) for check, a, b in spans]
    outcomes += [CheckOutcome(c, False, query="", error=msg) for c, msg in bad]
    base = len(terms) - 2 * len(key_bounds)
    bounds = {col: (values[base + 2 * i], values[base + 2 * i + 1]) for i, col in enumerate(key_bounds)}
    return outcomes, bounds


def _run(ctx: EvalContext, terms: list[str]) -> tuple[Any, ...]:
    row = ctx.con.execute(f"select {', '.join(terms)} from {ctx.target.relation}").fetchone()
    assert row is not None
    return tuple(row)


def _one_by_one(
    ctx: EvalContext,
    spans: list[tuple[PlannedCheck, int, int]],
    bad: list[tuple[PlannedCheck, str]],
    key_bounds: list[str],
) -> tuple[list[CheckOutcome], dict[str, tuple[Any, Any]]]:
    total = ctx.row_count
    outcomes = [CheckOutcome(c, False, query="", error=msg) for c, msg in bad]
    for check, _a, _b in spans:
        try:
            values = _run(ctx, _terms(check))
            outcomes.append(_outcome(ctx, check, values, total))
        except duckdb.Error as exc:
            outcomes.append(CheckOutcome(check, False, 0, total, query=_query(ctx, check), error=_short(exc)))
    bounds: dict[str, tuple[Any, Any]] = {}
    for col in key_bounds:
        try:
            lo, hi = _run(ctx, [f"min({ident(col)})", f"max({ident(col)})"])
            bounds[col] = (lo, hi)
        except duckdb.Error:
            pass
    return outcomes, bounds


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:500]


def _query(ctx: EvalContext, check: PlannedCheck) -> str:
    try:
        return failing_rows_query(check, ctx.target.relation)
    except Exception:
        return ""


def _outcome(ctx: EvalContext, check: PlannedCheck, values: tuple[Any, ...], total: int) -> CheckOutcome:
    query = _query(ctx, check)
    if check.kind == "freshness":
        out = freshness_outcome(ctx, check, values[0], dict(SCAN))
        if out is None:
            return CheckOutcome(
                check,
                False,
                0,
                total,
                query=query,
                error=f"column {check.args['column']!r} is not a date or timestamp",
            )
        return out
    failing = int(values[0] or 0)
    sample = ctx.sample(query, check.columns) if failing else []
    return CheckOutcome(check, failing == 0, failing, total, sample, query, metadata=dict(SCAN))


def row_count_outcome(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    total = ctx.row_count
    lo, hi = check.args.get("min"), check.args.get("max")
    ok = (lo is None or total >= lo) and (hi is None or total <= hi)
    return CheckOutcome(
        check,
        ok,
        0,
        total,
        query=f"select count(*) from {ctx.target.relation}",
        metadata={**SCAN, "row_count": total},
    )
