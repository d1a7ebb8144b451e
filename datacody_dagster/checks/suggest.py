"""Suggest checks from the profile of an output and from check history (the flywheel's output).

Proposals are YAML check entries; :func:`write_suggestions` adds them to the asset's spec file
with ruamel's round trip, so comments and layout survive. Repeated failures of one check for
the same reason are reported with a likely cause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacody_dagster.checks.candidates import (
    ACCEPTED_MAX,
    APPROX_DISTINCT,
    ERROR_MIN_BATCHES,
    MIN_ROWS,
    Suggestion,
    calibrated_candidates,
    column_candidates,
    schema_candidate,
)
from datacody_dagster.checks.context import EvalContext, connect
from datacody_dagster.checks.history import CheckHistory, HistoryRecord, file_md5
from datacody_dagster.checks.profile import compute_profile
from datacody_dagster.checks.sqltext import ident
from datacody_dagster.checks.targets import target_for
from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.parse import flow_style
from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import DatacodyError, Diagnostic
from datacody_dagster.spec.check_args import RowCountArgs
from datacody_dagster.spec.check_kinds import kind_info

REPEATS = 3
HISTORY_LIMIT = 200


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


def _unique_and_format(
    ctx: EvalContext, profiles: Sequence[dict[str, Any]], have: set[tuple[str, tuple[str, ...]]]
) -> list[Suggestion]:
    """`unique` (distinct in every batch, confirmed exactly on the current one) and `regex`
    (every current value has one shape; the profile keeps no shapes, so these start as warn)."""
    current = profiles[0]
    rows = int(current["rows"])
    out: list[Suggestion] = []
    text_cols: list[str] = []
    for col, p in current["columns"].items():
        nonnull = rows - p["nulls"]
        keyish = p["class"] == "text" or p["type"].upper() in {"INTEGER", "BIGINT", "SMALLINT", "VARCHAR"}
        past = [
            (int(q["rows"]) - q["columns"][col]["nulls"], q["columns"][col]["distinct"])
            for q in profiles
            if col in q.get("columns", {})
        ]
        distinct_everywhere = all(d >= APPROX_DISTINCT * nn for nn, d in past if nn > 1)
        if keyish and nonnull > 1 and distinct_everywhere and ("unique", (col,)) not in have:
            # approx_count_distinct is an estimate: confirm uniqueness exactly before proposing it.
            row = ctx.con.execute(
                f"select count({ident(col)}) = count(distinct {ident(col)}) from {ctx.target.relation}"
            ).fetchone()
            if row and row[0]:
                n = len(past)
                out.append(
                    Suggestion(
                        {"unique": col, "severity": "error" if n >= ERROR_MIN_BATCHES else "warn"},
                        f"{col} was distinct in {n} past batch{'es' if n != 1 else ''} "
                        f"(exactly unique over the current {nonnull:,} values)",
                        n,
                    )
                )
        labels = [k for k in (p.get("top") or {}) if k != "__null__"]
        if p["class"] == "text" and not 1 < len(labels) <= ACCEPTED_MAX and ("regex", (col,)) not in have:
            text_cols.append(col)
    for col, pattern in _patterns(ctx, text_cols).items():
        out.append(
            Suggestion(
                {"regex": {"column": col, "pattern": pattern}, "severity": "warn"},
                f"every current {col} matches {pattern}",
            )
        )
    return out


def history_suggestions(node: Node, history: CheckHistory | None) -> list[Suggestion]:
    """Tighten row-count guards that the history shows are far too loose."""
    if history is None:
        return []
    counts = [r.row_count for r in history.records(node.name, 20) if r.row_count is not None]
    out = []
    for c in node.checks:
        low = (c.params_as(RowCountArgs).min or 0) if c.kind == "row_count" else 0
        if c.kind == "row_count" and counts and low < min(counts) * 0.1:
            out.append(
                Suggestion(
                    {"row_count": {"min": int(min(counts) * 0.5)}},
                    f"tighten `{c.name}`: min {low}, never fewer than {min(counts):,} rows",
                    len(counts),
                )
            )
    return out


def validated_suggestions(
    ctx: EvalContext, node: Node, current: dict[str, Any], past: Sequence[HistoryRecord]
) -> list[Suggestion]:
    """Checks that held on the current batch and on every past one with a profile."""

    def same_data(r: HistoryRecord) -> bool:  # the current batch is usually the latest record
        if current.get("data_version") is not None and r.data_version == current["data_version"]:
            return True
        prof = r.profile or {}
        return prof.get("rows") == current["rows"] and prof.get("columns") == current["columns"]

    profiles = [current] + [
        r.profile for r in past if r.profile and r.profile.get("columns") and not same_data(r)
    ]
    if int(current["rows"]) < MIN_ROWS and len(profiles) == 1:
        return []
    have = _existing(node)
    kinds = {c.kind for c in node.checks}
    out = column_candidates(profiles, have)
    out += _unique_and_format(ctx, profiles, have)
    schema = schema_candidate(profiles, "schema" in kinds)
    if schema is not None:
        out.append(schema)
    counts = sum(1 for r in past if r.row_count is not None)
    out += calibrated_candidates(profiles, have, kinds, counts)
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
                RepeatedFailure(check.name, len(reasons), reasons[0], kind_info(check.kind).likely_cause)
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
        past = list(history.records(node.name, HISTORY_LIMIT)) if history is not None else []
        if target.data_version is None and target.parquet_path is not None:
            profile["data_version"] = file_md5(target.parquet_path)
        suggestions = validated_suggestions(ctx, node, profile, past)
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


def _comment(s: Suggestion) -> str:
    return f"suggested from {s.batches} batch{'es' if s.batches != 1 else ''}: {s.reason}"


def _commented_entries(suggestions: Sequence[Suggestion]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    seq = CommentedSeq()
    for i, s in enumerate(suggestions):
        entry = CommentedMap()
        for key, value in s.entry.items():
            entry[key] = flow_style(value)
        entry.fa.set_flow_style()
        seq.append(entry)
        seq.yaml_add_eol_comment(_comment(s), i)
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
        checks.yaml_add_eol_comment(_comment(suggestions[i]), start + i)
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
    return path
