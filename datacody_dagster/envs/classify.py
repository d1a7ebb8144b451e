"""Classify one asset's direct change: what an environment holds against what the specs say.

Categories follow SQLMesh's: a change that only adds output columns is non-breaking (readers
are unaffected); one that removes, renames or retypes columns, or changes which rows exist
(filter, join, group-by, source), is breaking. Everything here is pure: no engine runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError

from datacody_dagster.compiler.plan import Node
from datacody_dagster.compiler.sql import DIALECT
from datacody_dagster.versioning.env_state import AssetState, config_hash, meta_hash

Change = Literal["unchanged", "added", "removed", "metadata-only", "non-breaking", "breaking", "indirect"]
ALL_COLUMNS: frozenset[str] = frozenset({"*"})
"""Affected columns when the rows themselves change: every column of the asset."""

_ROW_ARGS = {
    "from": "source",
    "joins": "join",
    "where": "filter",
    "group": "group-by",
    "having": "having",
    "qualify": "qualify",
    "distinct": "distinct",
    "limit": "limit",
    "with": "CTE",
}


@dataclass(frozen=True)
class DirectChange:
    change: Change
    reason: str
    affected: frozenset[str] = frozenset()
    """Columns of this asset whose values (or, with ``*``, rows) differ for readers."""


def _text(node: exp.Expr | list[exp.Expr] | None) -> str:
    if node is None:
        return ""
    if isinstance(node, list):
        return ", ".join(n.sql(dialect=DIALECT) for n in node)
    return node.sql(dialect=DIALECT)


def _parse(sql: str | None) -> exp.Expr | None:
    if not sql:
        return None
    try:
        return parse_one(sql, read=DIALECT)
    except SqlglotError:
        return None


def _names(cols: tuple[str, ...] | None) -> list[str]:
    return list(cols or ())


def _join(items: list[str]) -> str:
    return ", ".join(items)


def _sql_change(old: AssetState, node: Node) -> DirectChange:
    old_q, new_q = _parse(old.sql), _parse(node.canonical_sql)
    if not isinstance(old_q, exp.Select) or not isinstance(new_q, exp.Select):
        return DirectChange("breaking", "query shape changed (not a plain SELECT)", ALL_COLUMNS)
    row_changes = [
        label for arg, label in _ROW_ARGS.items() if _text(old_q.args.get(arg)) != _text(new_q.args.get(arg))
    ]
    old_proj = {s.alias_or_name: _text(s.unalias()) for s in old_q.selects}
    new_proj = {s.alias_or_name: _text(s.unalias()) for s in new_q.selects}
    old_cols = _names(old.columns) or list(old_proj)
    new_cols = _names(node.columns) or list(new_proj)
    removed = [c for c in old_cols if c not in new_cols]
    added = [c for c in new_cols if c not in old_cols]
    renamed = {r: a for r in removed for a in added if r in old_proj and old_proj.get(r) == new_proj.get(a)}
    removed = [c for c in removed if c not in renamed]
    added = [c for c in added if c not in renamed.values()]
    exprs = [c for c in old_cols if c in new_cols and c in old_proj and old_proj[c] != new_proj.get(c)]
    retyped = [c for c in old_cols if c in new_cols and old.column_types.get(c) != node.column_types.get(c)]
    reasons: list[str] = []
    if row_changes:
        reasons.append(f"rows change: {_join(row_changes)} changed")
    if removed:
        reasons.append(f"columns removed: {_join(removed)}")
    if renamed:
        reasons.append("columns renamed: " + _join([f"{o} -> {n}" for o, n in renamed.items()]))
    if retyped:
        reasons.append(f"columns retyped: {_join(retyped)}")
    if exprs:
        reasons.append(f"expression changed: {_join(exprs)}")
    if reasons:
        if added:
            reasons.append(f"columns added: {_join(added)}")
        affected = ALL_COLUMNS if row_changes else frozenset(removed + list(renamed) + retyped + exprs)
        return DirectChange("breaking", "; ".join(reasons), affected)
    if added:
        return DirectChange("non-breaking", f"columns added: {_join(added)}")
    return _config_or_cosmetic(old, node)


def _config_or_cosmetic(old: AssetState, node: Node) -> DirectChange:
    if old.config != config_hash(node):
        return DirectChange("non-breaking", "materialization settings changed (same rows and columns)")
    return DirectChange("non-breaking", "query rewritten with the same rows and columns")


def classify_direct(old: AssetState | None, node: Node) -> DirectChange:
    """The direct change of ``node`` against the state an environment holds for it."""
    if old is None:
        return DirectChange("added", "new asset", ALL_COLUMNS)
    if old.fingerprint == node.fingerprint:
        if old.meta != meta_hash(node):
            return DirectChange("metadata-only", "description, owners, tags, checks or schedule changed")
        return DirectChange("unchanged", "")
    if node.kind != old.kind:
        return DirectChange("breaking", f"kind changed: {old.kind} -> {node.kind}", ALL_COLUMNS)
    if node.kind == "sql":
        return _sql_change(old, node)
    if node.kind == "source":
        return DirectChange("breaking", "source file, format or reader options changed", ALL_COLUMNS)
    if old.config != config_hash(node) and old.sql == node.canonical_sql:
        return _config_or_cosmetic(old, node)
    return DirectChange("breaking", f"{node.kind} transform changed (opaque to lineage)", ALL_COLUMNS)
