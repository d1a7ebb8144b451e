"""Suggest checks from the profile of an output and from check history (the flywheel's output).

Proposals are YAML check entries; :func:`write_suggestions` adds them to the asset's spec file
with ruamel's round trip, so comments and layout survive. Repeated failures of one check for
the same reason are reported with a likely cause.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacody_dagster.checks.context import EvalContext, connect
from datacody_dagster.checks.history import CheckHistory
from datacody_dagster.checks.profile import compute_profile
from datacody_dagster.checks.sqltext import ident
from datacody_dagster.checks.targets import target_for
from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.parse import flow_style
from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import DatacodyError, Diagnostic

MIN_ROWS = 20
ACCEPTED_MAX = 12
REPEATS = 3

_CAUSES = {
    "not_null": "an upstream column started emitting nulls (a new outer join, a missing default, "
    "or a source field that is now optional)",
    "unique": "a join fans out: the joined key is not unique upstream, or a source re-delivers rows",
    "accepted_values": "a new category appeared upstream; add it to `values` if it is legitimate",
    "relationships": "the referenced asset is stale or filtered: materialize it first, or keys arrive "
    "before their parent rows",
    "range": "a unit or sign change upstream, or sentinel values (e.g. -1, 9999) for missing data",
    "regex": "the format of the field changed upstream",
    "row_count": "a source delivered a partial file, or a filter/join drops rows",
    "row_count_anomaly": "a source delivered a partial file, or a filter/join drops rows",
    "freshness": "the schedule or the upstream feed stopped",
    "drift": "the population changed upstream (a new segment, a unit change, or a broken feed)",
    "schema": "the upstream schema changed; update the contract or the SQL",
}


@dataclass(frozen=True)
class Suggestion:
    """One proposed check entry (as written in YAML) and why."""

    entry: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class RepeatedFailure:
    check: str
    times: int
    reason: str
    likely_cause: str


@dataclass(frozen=True)
class SuggestionReport:
    asset: str
    suggestions: list[Suggestion]
    repeated_failures: list[RepeatedFailure]


def _existing(node: Node) -> set[tuple[str, tuple[str, ...]]]:
    return {(c.kind, tuple(dict.fromkeys(c.columns))) for c in node.checks}


def shape_regex(shape: str) -> str:
    """``AA-999`` (letters A/a, digits 9) as a regex with runs compressed."""
    out = []
    for m in re.finditer(r"(A+|a+|9+|[^Aa9]+)", shape):
        run = m.group(0)
        cls = {"A": "[A-Z]", "a": "[a-z]", "9": "[0-9]"}.get(run[0])
        if cls is None:
            out.append(re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", run))
        else:
            out.append(cls + (f"{{{len(run)}}}" if len(run) > 1 else ""))
    return "".join(out)


def _patterns(ctx: EvalContext, columns: list[str]) -> dict[str, str]:
    """Columns whose every value has one character-class shape, with that shape's regex."""
    if not columns:
        return {}
    terms = []
    for col in columns:
        c = ident(col)
        shape = f"regexp_replace({c}, '[A-Z]', 'A', 'g')"
        shape = f"regexp_replace(regexp_replace({shape}, '[a-z]', 'a', 'g'), '[0-9]', '9', 'g')"
        terms += [f"count(distinct {shape})", f"any_value({shape})"]
    row = ctx.con.execute(f"select {', '.join(terms)} from {ctx.target.relation}").fetchone()
    assert row is not None
    out = {}
    for i, col in enumerate(columns):
        distinct, shape = row[2 * i], row[2 * i + 1]
        if distinct == 1 and shape and re.search(r"[Aa9]", shape):
            out[col] = shape_regex(shape)
    return out


def profile_suggestions(ctx: EvalContext, node: Node, profile: dict[str, Any]) -> list[Suggestion]:
    """Checks the data already satisfies and that the spec does not state."""
    rows = int(profile["rows"])
    if rows < MIN_ROWS:
        return []
    have = _existing(node)
    out: list[Suggestion] = []
    text_cols: list[str] = []
    for col, p in profile["columns"].items():
        nonnull = rows - p["nulls"]
        if p["nulls"] == 0 and ("not_null", (col,)) not in have:
            out.append(Suggestion({"not_null": [col]}, f"{col} has no nulls in {rows:,} rows"))
        # approx_count_distinct is an estimate: confirm uniqueness exactly before proposing it.
        keyish = p["class"] == "text" or p["type"].upper() in {"INTEGER", "BIGINT", "SMALLINT", "VARCHAR"}
        if keyish and nonnull > 1 and p["distinct"] >= 0.97 * nonnull and ("unique", (col,)) not in have:
            row = ctx.con.execute(
                f"select count({ident(col)}) = count(distinct {ident(col)}) from {ctx.target.relation}"
            ).fetchone()
            if row and row[0]:
                out.append(Suggestion({"unique": col}, f"{col} is unique over {nonnull:,} values"))
        if p["class"] == "number" and p.get("min") is not None and ("range", (col,)) not in have:
            lo = float(p["min"])
            if lo >= 0:
                out.append(Suggestion({"range": {"column": col, "min": 0}}, f"{col} is never negative"))
        top = p.get("top") or {}
        labels = [k for k in top if k != "__null__"]
        if (
            p["class"] == "text"
            and 1 < len(labels) <= ACCEPTED_MAX
            and math.isclose(sum(v for k, v in top.items() if k != "__null__"), nonnull / rows, rel_tol=1e-3)
            and ("accepted_values", (col,)) not in have
        ):
            out.append(
                Suggestion(
                    {"accepted_values": {"column": col, "values": sorted(labels)}},
                    f"{col} takes {len(labels)} values",
                )
            )
        elif p["class"] == "text" and ("regex", (col,)) not in have:
            text_cols.append(col)
    for col, pattern in _patterns(ctx, text_cols).items():
        out.append(
            Suggestion({"regex": {"column": col, "pattern": pattern}}, f"every {col} matches {pattern}")
        )
    return out


def history_suggestions(node: Node, history: CheckHistory | None) -> list[Suggestion]:
    """Row-count guards from the counts of past materializations."""
    if history is None:
        return []
    counts = [r.row_count for r in history.records(node.name, 20) if r.row_count is not None]
    have = {c.kind for c in node.checks}
    out = []
    if len(counts) >= 5 and "row_count_anomaly" not in have:
        out.append(
            Suggestion(
                {"row_count_anomaly": {"threshold": 3.5, "window": 10}}, f"{len(counts)} past row counts"
            )
        )
    if counts and "row_count" not in have:
        floor = int(min(counts) * 0.5)
        if floor > 0:
            out.append(
                Suggestion(
                    {"row_count": {"min": floor}, "severity": "warn"},
                    f"never fewer than {min(counts):,} rows",
                )
            )
    for c in node.checks:
        if c.kind == "row_count" and counts and c.args.get("min", 0) < min(counts) * 0.1:
            out.append(
                Suggestion(
                    {"row_count": {"min": int(min(counts) * 0.5)}},
                    f"tighten `{c.name}`: min {c.args.get('min', 0)}, never fewer than {min(counts):,} rows",
                )
            )
    return out


def repeated_failures(instance: Any, node: Node, limit: int = 10) -> list[RepeatedFailure]:
    """Checks whose latest verdicts failed ``REPEATS``+ times in a row for the same reason.

    Planned-but-skipped evaluations (the run stopped upstream) carry no verdict: they neither
    break nor extend a streak.
    """
    from datacody_dagster.checks.verdicts import check_verdicts

    out = []
    for check in node.checks:
        reasons: list[str] = []
        for verdict in check_verdicts(instance, node.name, check.name, limit):  # newest first
            if verdict.passed:
                break
            if reasons and verdict.reason != reasons[0]:
                break
            reasons.append(verdict.reason)
        if len(reasons) >= REPEATS:
            out.append(
                RepeatedFailure(check.name, len(reasons), reasons[0], _CAUSES.get(check.kind, "unknown"))
            )
    return out


def suggest_checks(
    project: CompiledProject,
    node: Node,
    *,
    history: CheckHistory | None = None,
    instance: Any = None,
) -> SuggestionReport:
    """Profile ``node``'s output and propose checks; report repeated failures."""
    target = target_for(project, node)
    con = connect(target)
    try:
        ctx = EvalContext(target, con)
        try:
            profile = compute_profile(ctx)
        except Exception as exc:
            raise DatacodyError(
                Diagnostic(
                    "DC300",
                    f"cannot read the output of {node.name}: {str(exc).splitlines()[0]}",
                    node.location,
                    "materialize the asset first: datacody materialize --select " + node.name,
                )
            ) from None
        suggestions = profile_suggestions(ctx, node, profile)
    finally:
        con.close()
    suggestions += history_suggestions(node, history)
    failures = repeated_failures(instance, node) if instance is not None else []
    return SuggestionReport(node.name, suggestions, failures)


def suggestions_yaml(suggestions: Sequence[Suggestion]) -> str:
    """The proposals as a `checks:` YAML snippet with the reasons as comments."""
    import io

    from datacody_dagster.compiler.parse import yaml_loader

    yaml = yaml_loader()
    yaml.width = 4096
    seq = _commented_entries(suggestions)
    buf = io.StringIO()
    yaml.dump({"checks": seq}, buf)
    return buf.getvalue()


def _commented_entries(suggestions: Sequence[Suggestion]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    seq = CommentedSeq()
    for i, s in enumerate(suggestions):
        entry = CommentedMap()
        for key, value in s.entry.items():
            entry[key] = flow_style(value)
        entry.fa.set_flow_style()
        seq.append(entry)
        seq.yaml_add_eol_comment(f"suggested: {s.reason}", i)
    return seq


def write_suggestions(project: CompiledProject, node: Node, suggestions: Sequence[Suggestion]) -> Path:
    """Append the proposals to the asset's `checks:` in its spec file; return the file."""
    from datacody_dagster.compiler.parse import yaml_loader

    path = project.root / node.location.file
    yaml = yaml_loader()
    # The layout the spec docs and `datacody init` use: sequences indented under their key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    doc = yaml.load(path.read_text(encoding="utf-8"))
    section = "sources" if node.is_source else "assets"
    asset = (doc or {}).get(section, {}).get(node.name)
    if asset is None:
        raise DatacodyError(
            Diagnostic("DC300", f"cannot find {section}.{node.name} in {node.location.file}", node.location)
        )
    if "checks" not in asset or asset["checks"] is None:
        asset["checks"] = _commented_entries([])
    checks = asset["checks"]
    start = len(checks)
    for i, entry in enumerate(_commented_entries(suggestions)):
        checks.append(entry)
        checks.yaml_add_eol_comment(f"suggested: {suggestions[i].reason}", start + i)
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
    return path
