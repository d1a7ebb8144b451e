"""Evaluate all checks of one target in as few passes as the data allows.

Order of work: reuse cached outcomes of unchanged data; settle what the Parquet footer proves;
one aggregate pass for every row-level predicate (carrying the integer-key bitmaps); the
remaining key checks together (keys.unique_outcomes); then the table-level,
history and training-data kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from datacody_dagster.checks import calibrated, keys, learning, rows, shortcuts, table_kinds
from datacody_dagster.checks.cache import ResultCache, cache_key
from datacody_dagster.checks.context import DB_ALIAS, EvalContext, connect
from datacody_dagster.checks.history import CheckHistory, file_md5
from datacody_dagster.checks.model import CheckOutcome, CheckTarget
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.errors import DatacodyError
from datacody_dagster.spec.check_args import RelationshipsArgs, RowCountAnomalyArgs
from datacody_dagster.spec.check_kinds import (
    HISTORY_KINDS,
    ROW_PREDICATE_KINDS,
    TRAINING_KINDS,
    UNCACHEABLE_KINDS,
    kind_info,
)


def data_version_of(target: CheckTarget) -> str | None:
    """The target's data version, or a cheap file fingerprint (size and mtime) when unset."""
    if target.data_version is not None:
        return target.data_version
    path = target.parquet_path
    if path is not None and path.is_file():
        st = path.stat()
        return f"file:{path}:{st.st_size}:{st.st_mtime_ns}"
    return None


def _key_for(target: CheckTarget, check: PlannedCheck, version: str | None) -> str | None:
    if version is None or check.kind in UNCACHEABLE_KINDS:
        return None
    extra = ""
    if check.kind == "relationships":
        other = (
            target.resolve_version(check.params_as(RelationshipsArgs).to) if target.resolve_version else None
        )
        if other is None:
            return None
        extra = other
    return cache_key(check, version, extra)


def evaluate(
    target: CheckTarget,
    checks: Sequence[PlannedCheck],
    history: CheckHistory | None = None,
    cache: ResultCache | None = None,
) -> list[CheckOutcome]:
    done: dict[int, CheckOutcome] = {}
    keys_by_index: dict[int, str] = {}
    version = data_version_of(target) if cache is not None else None
    if cache is not None:
        for i, check in enumerate(checks):
            key = _key_for(target, check, version)
            if key is not None:
                keys_by_index[i] = key
        hits = cache.get_many({key: checks[i] for i, key in keys_by_index.items()})
        for i, key in keys_by_index.items():
            hit = hits.get(key)
            if hit is not None:  # identical checks share a key: each keeps its own check object
                done[i] = hit if hit.check is checks[i] else replace(hit, check=checks[i])
    todo = [(i, c) for i, c in enumerate(checks) if i not in done]
    if todo:
        done.update(_evaluate_fresh(target, todo, history))
    if cache is not None:
        for i, key in keys_by_index.items():
            if not done[i].reused:
                cache.put(key, done[i])
    return [_with_reason(done[i]) for i in range(len(checks))]


def _needs_database(target: CheckTarget, checks: list[PlannedCheck]) -> bool:
    """Attach the project database only when a relation lives in it (a writer may hold it)."""
    relations = [target.relation]
    for check in checks:
        if check.kind == "sql":
            return True
        if check.kind == "relationships" and target.resolve is not None:
            try:
                relations.append(target.resolve(check.params_as(RelationshipsArgs).to))
            except Exception:
                continue
    return any(DB_ALIAS in r for r in relations)


def _evaluate_fresh(
    target: CheckTarget, todo: list[tuple[int, PlannedCheck]], history: CheckHistory | None
) -> dict[int, CheckOutcome]:
    try:
        con = connect(target, _needs_database(target, [c for _, c in todo]))
    except DatacodyError as exc:
        return {i: CheckOutcome(c, False, error=str(exc)) for i, c in todo}
    try:
        ctx = EvalContext(target, con)
        try:
            _ = ctx.schema
        except Exception as exc:
            msg = f"cannot read {target.relation}: {str(exc).splitlines()[0]}"
            return {i: CheckOutcome(c, False, error=msg) for i, c in todo}
        if any(c.kind in HISTORY_KINDS for _, c in todo) and target.data_version is None:
            path = target.parquet_path
            if path is not None and path.is_file():
                ctx.target = replace(target, data_version=file_md5(path))
        return _run_all(ctx, todo, history)
    finally:
        con.close()


def _proven_by_sql(ctx: EvalContext, todo: list[tuple[int, PlannedCheck]]) -> dict[int, CheckOutcome]:
    """Checks the asset's SQL proves by construction: passed without reading data."""
    target = ctx.target
    keys_proven = [set(key) for key in target.proven_unique_keys]
    out: dict[int, CheckOutcome] = {}
    for i, check in todo:
        columns = set(check.columns)
        if check.kind == "unique" and any(key <= columns for key in keys_proven):
            reason = "the SQL groups by (or selects distinct) a subset of these columns"
        elif check.kind == "not_null" and check.column in target.proven_not_null:
            reason = "the SQL filters this column with IS NOT NULL (or it is a COUNT)"
        else:
            continue
        total = ctx.footer.num_rows if ctx.footer is not None else 0
        out[i] = CheckOutcome(check, True, 0, total, metadata={"method": "proven_by_sql", "proof": reason})
    return out


def _run_all(
    ctx: EvalContext, todo: list[tuple[int, PlannedCheck]], history: CheckHistory | None
) -> dict[int, CheckOutcome]:
    out: dict[int, CheckOutcome] = dict(_proven_by_sql(ctx, todo))
    todo = [(i, c) for i, c in todo if i not in out]
    scan: list[tuple[int, PlannedCheck]] = []
    for i, check in todo:
        if check.kind in ROW_PREDICATE_KINDS | {"row_count", "freshness"}:
            settled = shortcuts.settle_from_footer(ctx, check)
            if settled is not None:
                out[i] = settled
            else:
                scan.append((i, check))
    uniques = [(i, c) for i, c in todo if c.kind == "unique"]
    bounded: dict[str, tuple[Any, Any]] = {}
    need_bounds: list[str] = []
    bitmap_cols: list[str] = []
    bitmap_terms: list[str] = []
    for _, check in uniques:
        col = keys.integer_key_column(ctx, check)
        if col is None or col in bounded or col in need_bounds:
            continue
        stats = ctx.footer.columns.get(col) if ctx.footer else None
        if stats is not None and stats.ordered:
            bounded[col] = (stats.min, stats.max)
            terms = keys.bitmap_terms(col, stats.min, stats.max)
            if terms is not None:  # the bitmap rides along in the row pass
                bitmap_cols.append(col)
                bitmap_terms += terms
        else:
            need_bounds.append(col)
    bitmaps: dict[str, tuple[int, int]] = {}
    row_checks = [c for _, c in scan if c.kind != "row_count"]
    if row_checks or need_bounds or bitmap_terms or any(c.kind == "row_count" for _, c in scan):
        results, bounds, extra = rows.row_pass(ctx, row_checks, need_bounds, bitmap_terms)
        bounded.update(bounds)
        if extra is not None:
            for j, col in enumerate(bitmap_cols):
                bitmaps[col] = (int(extra[2 * j]), int(extra[2 * j + 1]))
        by_check = {id(o.check): o for o in results}
        for i, check in scan:
            out[i] = rows.row_count_outcome(ctx, check) if check.kind == "row_count" else by_check[id(check)]
    if uniques:
        try:
            by_unique = keys.unique_outcomes(ctx, [c for _, c in uniques], bounded, bitmaps)
            out.update({i: by_unique[id(c)] for i, c in uniques})
        except Exception as exc:  # one broken check must not take the others down
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            out.update({i: CheckOutcome(c, False, error=msg) for i, c in uniques})
    profile: dict[str, Any] | None = None
    for i, check in todo:
        if i in out:
            continue
        if check.kind == "distribution":
            try:
                profile = profile if profile is not None else calibrated.current_profile(ctx)
                out[i] = calibrated.distribution_outcome(ctx, check, history, profile)
            except Exception as exc:  # one broken check must not take the others down
                out[i] = CheckOutcome(check, False, error=f"{type(exc).__name__}: {exc}".splitlines()[0])
            continue
        out[i] = _single(ctx, check, history)
    return out


def _single(ctx: EvalContext, check: PlannedCheck, history: CheckHistory | None) -> CheckOutcome:
    try:
        match check.kind:
            case "relationships":
                return keys.relationships_outcome(ctx, check)
            case "schema":
                return table_kinds.schema_outcome(ctx, check)
            case "sql":
                return table_kinds.sql_outcome(ctx, check)
            case "drift":
                return learning.drift_outcome(ctx, check, history)
            case "row_count_anomaly" if check.params_as(RowCountAnomalyArgs).threshold is None:
                return calibrated.row_count_band_outcome(ctx, check, history)
            case "row_count_anomaly":
                return learning.anomaly_outcome(ctx, check, history)
            case "null_fraction":
                return table_kinds.null_fraction_outcome(ctx, check)
            case kind if kind in TRAINING_KINDS:
                return _training(ctx, check)
    except Exception as exc:  # one broken check must not take the others down
        return CheckOutcome(
            check, False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        )
    return CheckOutcome(check, False, error=f"unknown check kind {check.kind!r}")


def _training(ctx: EvalContext, check: PlannedCheck) -> CheckOutcome:
    try:
        from datacody_dagster.checks.training import evaluate_training_check
    except ImportError:
        return CheckOutcome(check, False, error="not available")
    return evaluate_training_check(ctx.con, ctx.target.relation, check)


def _with_reason(outcome: CheckOutcome) -> CheckOutcome:
    """Add a stable one-line reason to failures (suggestions group repeated failures by it)."""
    if outcome.passed or "reason" in outcome.metadata:
        return outcome
    check = outcome.check
    if outcome.error is not None:
        reason = f"error: {outcome.error[:200]}"
    else:
        cols = check.columns
        seen = sorted({str(row.get(c)) for row in outcome.sample for c in cols if c in row})[:5]
        info = kind_info(check.kind)
        reason = info.failure_reason(check.args) + (f" in {', '.join(cols)}" if cols else "")
        if seen and info.reason_shows_values:
            reason += f": {', '.join(seen)}"
    return replace(outcome, metadata={**outcome.metadata, "reason": reason})
