"""A compact column profile of an output: the baseline of drift checks and of suggestions.

Stored as JSON metadata on each materialization (key ``datacody/profile``), so it must stay
small: at most ``MAX_COLUMNS`` columns, ten quantile bins per number, the top twenty categories
per low-cardinality column (and every value's share of a discrete number column). No row values
other than category labels and bounds.
"""

from __future__ import annotations

import itertools
from typing import Any

from datacody_dagster.checks.context import EvalContext, json_safe
from datacody_dagster.checks.discrete import profiles_as_discrete
from datacody_dagster.checks.sqltext import ident
from datacody_dagster.engines.duckdb_types import NUMERIC_TYPES

PROFILE_KEY = "datacody/profile"
PROFILE_VERSION = 1
MAX_COLUMNS = 40
BINS = 10
TOP_K = 20
CATEGORICAL_MAX_DISTINCT = 50
_NUMERIC = NUMERIC_TYPES
_TEXT = {"VARCHAR"}


def column_class(duck_type: str) -> str:
    """``number``, ``text``, ``temporal`` or ``other``."""
    base = duck_type.split("(")[0].upper()
    if base in _NUMERIC or base.startswith("DECIMAL"):
        return "number"
    if base in _TEXT:
        return "text"
    if base.startswith(("DATE", "TIMESTAMP", "TIME")):
        return "temporal"
    return "other"


def compute_profile(ctx: EvalContext, data_version: str | None = None) -> dict[str, Any]:
    """Profile every (up to ``MAX_COLUMNS``) column with three queries in total."""
    rel = ctx.target.relation
    cols = list(ctx.schema.items())[:MAX_COLUMNS]
    terms = ["count(*)"]
    for name, typ in cols:
        c = ident(name)
        terms += [f"count(*) - count({c})", f"approx_count_distinct({c})"]
        kind = column_class(typ)
        if kind in {"number", "temporal"}:
            terms += [f"min({c})", f"max({c})"]
        if kind == "number":
            qs = ", ".join(str(i / BINS) for i in range(1, BINS))
            terms += [f"approx_quantile({c}::double, [{qs}])", f"avg({c}::double)"]
        if kind == "temporal":
            terms += [f"epoch(min({c}))", f"epoch(max({c}))"]
        if kind == "text":
            terms += [f"min(length({c}))", f"max(length({c}))"]
    row = ctx.con.execute(f"select {', '.join(terms)} from {rel}").fetchone()
    assert row is not None
    values = list(row)
    rows = int(values.pop(0))
    out: dict[str, dict[str, Any]] = {}
    for name, typ in cols:
        kind = column_class(typ)
        nulls, distinct = int(values.pop(0)), int(values.pop(0) or 0)
        prof: dict[str, Any] = {"type": typ, "class": kind, "nulls": nulls, "distinct": distinct}
        if kind in {"number", "temporal"}:
            prof["min"], prof["max"] = json_safe(values.pop(0)), json_safe(values.pop(0))
        if kind == "number":
            deciles = [float(e) for e in (values.pop(0) or []) if e is not None]
            prof["edges"] = sorted(set(deciles))
            prof["deciles"] = deciles
            mean = values.pop(0)
            prof["mean"] = float(mean) if mean is not None else None
        if kind == "temporal":
            lo, hi = values.pop(0), values.pop(0)
            prof["min_epoch"] = float(lo) if lo is not None else None
            prof["max_epoch"] = float(hi) if hi is not None else None
        if kind == "text":
            prof["min_length"], prof["max_length"] = values.pop(0), values.pop(0)
        out[name] = prof
    _histograms(ctx, out, rows)
    _categories(ctx, out, rows)
    return {"v": PROFILE_VERSION, "rows": rows, "data_version": data_version, "columns": out}


def bin_terms(column: str, edges: list[float]) -> list[str]:
    """Counts per quantile bin ``(-inf, e1), [e1, e2), ... [ek, inf)`` and of nulls."""
    c = f"{ident(column)}::double"
    terms = []
    bounds = [None, *edges, None]
    for lo, hi in itertools.pairwise(bounds):
        cond = (
            " and ".join(
                p
                for p in ([f"{c} >= {lo!r}"] if lo is not None else [])
                + ([f"{c} < {hi!r}"] if hi is not None else [])
            )
            or f"{c} is not null"
        )
        terms.append(f"count(*) filter (where {cond})")
    terms.append(f"count(*) filter (where {ident(column)} is null)")
    return terms


def bin_case(column: str, edges: list[float]) -> str:
    """The bin of a row as ``bin_terms`` counts it: ``0..len(edges)`` by value, ``len(edges)+1`` null."""
    c = f"{ident(column)}::double"
    whens = " ".join(f"when {c} < {e!r} then {i}" for i, e in enumerate(edges))
    return f"case when {ident(column)} is null then {len(edges) + 1} {whens} else {len(edges)} end"


def _histograms(ctx: EvalContext, out: dict[str, dict[str, Any]], rows: int) -> None:
    numeric = [n for n, p in out.items() if p["class"] == "number" and p.get("edges")]
    if not numeric or not rows:
        return
    # One histogram() of a bin index per column: ~10x less CPU than a filtered count per bin
    # (measured on 336k flights: 0.13 against 1.2 CPU-s), with the same counts.
    terms = [f"histogram({bin_case(name, out[name]['edges'])})" for name in numeric]
    row = ctx.con.execute(f"select {', '.join(terms)} from {ctx.target.relation}").fetchone()
    assert row is not None
    for name, counts in zip(numeric, row, strict=True):
        bins = len(out[name]["edges"]) + 2
        out[name]["shares"] = [round(int((counts or {}).get(i, 0)) / rows, 6) for i in range(bins)]


def _categories(ctx: EvalContext, out: dict[str, dict[str, Any]], rows: int) -> None:
    cats = [
        n
        for n, p in out.items()
        if (p["class"] in {"text", "other"} and 0 < p["distinct"] <= CATEGORICAL_MAX_DISTINCT)
        or profiles_as_discrete(p["class"], p["distinct"], rows - p["nulls"])
    ]
    if not cats or not rows:
        return
    # One pass: a grouping set per column gives every column's value counts at once.
    sets = ", ".join(f"({ident(n)})" for n in cats)
    keys = ", ".join(f"{ident(n)}::varchar" for n in cats)
    grouping = ", ".join(f"grouping({ident(n)})" for n in cats)
    result = ctx.con.execute(
        f"select {keys}, [{grouping}], count(*) from {ctx.target.relation} group by grouping sets ({sets})"
    ).fetchall()
    counts: dict[str, dict[str, int]] = {n: {} for n in cats}
    for rec in result:
        flags = rec[len(cats)]
        for i, name in enumerate(cats):
            if flags[i] == 0:
                label = "__null__" if rec[i] is None else str(rec[i])
                counts[name][label] = int(rec[-1])
    for name in cats:
        top = sorted(counts[name].items(), key=lambda kv: -kv[1])[:TOP_K]
        out[name]["top"] = {k: round(v / rows, 6) for k, v in top}
