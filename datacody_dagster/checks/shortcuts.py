"""Checks settled by Parquet footer statistics, without reading any data page.

Each function returns an outcome when the footer proves the verdict and None otherwise. A
failing not_null is still settled (its count is exact); only its sample costs a small query.
"""

from __future__ import annotations

from datacody_dagster.checks.context import EvalContext
from datacody_dagster.checks.footer import as_number
from datacody_dagster.checks.freshness import freshness_outcome
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.rows import row_count_verdict
from datacody_dagster.checks.sqltext import failing_rows_query
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import AcceptedValuesArgs, RangeArgs

FOOTER = {"method": "parquet_footer"}


def settle_from_footer(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome | None:
    footer = ctx.footer
    if footer is None:
        return None
    relation = ctx.target.relation
    total = footer.num_rows
    if check.kind == "row_count":
        return row_count_verdict(check, total, f"select count(*) from {relation}", FOOTER)
    column = check.column
    stats = footer.columns.get(column) if column else None
    if stats is None:
        return None
    if check.kind == "not_null" and stats.null_count is not None:
        query = failing_rows_query(check, relation)
        nulls = stats.null_count
        sample = ctx.sample(query, check.columns) if nulls else []
        return CheckOutcome(check, nulls == 0, nulls, total, sample, query, metadata=dict(FOOTER))
    if check.kind == "range" and stats.ordered:
        lo_stat, hi_stat = as_number(stats.min), as_number(stats.max)
        if lo_stat is None or hi_stat is None:
            return None
        bounds = check.params_as(RangeArgs)
        lo, hi = bounds.min, bounds.max
        if (lo is None or lo_stat >= lo) and (hi is None or hi_stat <= hi):
            return CheckOutcome(
                check,
                True,
                0,
                total,
                query=failing_rows_query(check, relation),
                metadata={**FOOTER, "observed_min": lo_stat, "observed_max": hi_stat},
            )
        return None  # some row group crosses a bound: count the failing rows by scanning
    if check.kind == "accepted_values" and stats.ordered and stats.min == stats.max:
        values = check.params_as(AcceptedValuesArgs).values
        if stats.min in values or str(stats.min) in [str(v) for v in values]:
            return CheckOutcome(
                check,
                True,
                0,
                total,
                query=failing_rows_query(check, relation),
                metadata={**FOOTER, "observed_values": [stats.min]},
            )
    if check.kind == "freshness" and stats.ordered:
        return freshness_outcome(ctx, check, stats.max, dict(FOOTER))
    return None
