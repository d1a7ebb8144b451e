"""One aggregate pass for all row-level checks of a target.

``count(*) filter (where <failing predicate>)`` per check, the row count, the newest value of
freshness columns and min/max of integer key columns (for the key module), in a single query.
A check whose expression breaks the shared query (a typo in `expression`) is retried alone, so
one bad check never hides the others' verdicts.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

import duckdb

from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.freshness import freshness_outcome
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.sqltext import failing_predicate, failing_rows_query, ident
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import RowCountArgs
from datacody_dagster.spec.check_kinds import ROW_PREDICATE_KINDS

SCAN = {"method": "aggregate_scan"}


def _terms(check: PlannedCheck) -> list[str]:
    if check.kind in ROW_PREDICATE_KINDS:
        return [f"count(*) filter (where {failing_predicate(check)})"]
    if check.kind == "freshness":
        return [f"max({ident(check.column or '')})"]
    return []


def row_pass(
    ctx: EvalContext,
    checks: list[PlannedCheck],
    key_bounds: list[str],
    extra: list[str] | None = None,
) -> tuple[list[CheckOutcome], dict[str, tuple[Any, Any]], tuple[Any, ...] | None]:
    """Outcomes of ``checks`` (row predicates, freshness, row_count), min/max of ``key_bounds``
    and the values of the ``extra`` aggregates (the key module's bitmaps; None if they failed)."""
    extra = list(extra or [])
    grouped, checks = _per_value(ctx, checks)
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
    base = len(terms)
    terms += extra
    try:
        values = _run(ctx, terms)
    except duckdb.Error:
        outcomes, bounds = _one_by_one(ctx, spans, bad, key_bounds)
        extra_values: tuple[Any, ...] | None = None
        if extra:
            with contextlib.suppress(duckdb.Error):
                extra_values = _run(ctx, extra)
        return grouped + outcomes, bounds, extra_values
    total = int(values[0])
    ctx.set_row_count(total)
    outcomes = [_outcome(ctx, check, values[a:b], total) for check, a, b in spans]
    outcomes += [CheckOutcome(c, False, query="", error=msg) for c, msg in bad]
    base -= 2 * len(key_bounds)
    bounds = {col: (values[base + 2 * i], values[base + 2 * i + 1]) for i, col in enumerate(key_bounds)}
    return grouped + outcomes, bounds, tuple(values[len(terms) - len(extra) :])


# Kinds whose predicate reads one column, and the row count from which a separate grouped query
# (~3 ms of fixed cost) beats evaluating the predicate per row in the shared pass.
PER_VALUE_MIN_ROWS = {"regex": 25_000, "accepted_values": 250_000, "range": 250_000}
# types whose grouping equality is identity (floats are not: -0.0 and 0.0 group together)
_PER_VALUE_TYPES = ("VARCHAR", "DATE", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT")


def _per_value(ctx: EvalContext, checks: list[PlannedCheck]) -> tuple[list[CheckOutcome], list[PlannedCheck]]:
    """Single-column checks on dictionary-encoded columns, evaluated once per distinct value.

    The failing predicate of `accepted_values`, `range` and `regex` depends on one column only,
    so grouping the column first and summing the group sizes of the failing values gives the
    same failing-row count. On a column with few distinct values (the footer shows a dictionary
    in every row group) DuckDB groups it on the dictionary, far cheaper than evaluating string
    comparisons or a regex per row. Returns those outcomes and the checks left for the pass.
    """
    footer = ctx.footer
    if footer is None:  # no dictionary hint (and the row count would cost a query)
        return [], checks
    by_column: dict[str, list[PlannedCheck]] = {}
    rest: list[PlannedCheck] = []
    for check in checks:
        big = footer.num_rows >= PER_VALUE_MIN_ROWS.get(check.kind, 1 << 62)
        col = check.column if big else None
        stats = footer.columns.get(col) if col else None
        typ = ctx.schema.get(col, "").upper() if col else ""
        if col and stats is not None and stats.dictionary and typ in _PER_VALUE_TYPES:
            by_column.setdefault(col, []).append(check)
        else:
            rest.append(check)
    outcomes: list[CheckOutcome] = []
    for col, group in by_column.items():
        c = ident(col)
        sums = ", ".join(f"coalesce(sum(n) filter (where {failing_predicate(k)}), 0)" for k in group)
        try:
            row = ctx.con.execute(
                f"select {sums} from (select {c}, count(*) as n from {ctx.target.relation} group by {c})"
            ).fetchall()[0]
        except duckdb.Error:
            rest.extend(group)  # the shared pass (or its one-by-one retry) reports the error
            continue
        for check, failing in zip(group, row, strict=True):
            out = _outcome(ctx, check, (failing,), footer.num_rows)
            outcomes.append(replace(out, metadata={"method": "per_distinct_value"}))
    return outcomes, rest


def _run(ctx: EvalContext, terms: list[str]) -> tuple[Any, ...]:
    return tuple(ctx.con.execute(f"select {', '.join(terms)} from {ctx.target.relation}").fetchall()[0])


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
                error=f"column {check.column!r} is not a date or timestamp",
            )
        return out
    failing = int(values[0] or 0)
    sample = ctx.sample(query, check.columns) if failing else []
    return CheckOutcome(check, failing == 0, failing, total, sample, query, metadata=dict(SCAN))


def row_count_verdict(check: PlannedCheck, total: int, query: str, method: dict[str, Any]) -> CheckOutcome:
    """The outcome of a row_count check once the row count is known (footer, scan or Spark)."""
    args = check.params_as(RowCountArgs)
    lo, hi = args.min, args.max
    ok = (lo is None or total >= lo) and (hi is None or total <= hi)
    return CheckOutcome(check, ok, 0, total, query=query, metadata={**method, "row_count": total})


def row_count_outcome(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    return row_count_verdict(check, ctx.row_count, f"select count(*) from {ctx.target.relation}", SCAN)
