"""Facts a query proves about its output by construction, so checks need no scan.

- the GROUP BY keys (or every column of a SELECT DISTINCT) are unique when each key is a
  projected column: no two output rows share the key tuple;
- a column is never null when the top-level WHERE requires `col IS NOT NULL` and the column is
  projected unchanged, or when it is a COUNT(...).

Only a plain top-level SELECT is analysed (a UNION, an incremental asset that accumulates rows
across runs, or an unknown projection proves nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp


@dataclass(frozen=True)
class SqlProofs:
    unique_keys: tuple[tuple[str, ...], ...] = ()
    not_null: tuple[str, ...] = ()


def _output_name(projection: exp.Expr) -> str | None:
    name = projection.alias_or_name
    return name or None


def _unaliased(projection: exp.Expr) -> exp.Expr:
    return projection.this if isinstance(projection, exp.Alias) else projection


def _same_column(a: exp.Expr, b: exp.Expr) -> bool:
    if not (isinstance(a, exp.Column) and isinstance(b, exp.Column)):
        return False
    if a.name.lower() != b.name.lower():
        return False
    return not a.table or not b.table or a.table.lower() == b.table.lower()


def _key_output(key: exp.Expr, selects: list[exp.Expr]) -> str | None:
    """The output column a GROUP BY key appears as, if it is projected."""
    if isinstance(key, exp.Literal) and not key.is_string:
        position = int(key.this) - 1
        return _output_name(selects[position]) if 0 <= position < len(selects) else None
    for projection in selects:
        inner = _unaliased(projection)
        if inner == key or _same_column(inner, key):
            return _output_name(projection)
    if isinstance(key, exp.Column) and not key.table:  # GROUP BY an output alias
        for projection in selects:
            if isinstance(projection, exp.Alias) and projection.alias.lower() == key.name.lower():
                return projection.alias
    return None


def _group_keys(select: exp.Select) -> tuple[str, ...] | None:
    selects = list(select.selects)
    if any(isinstance(_unaliased(s), exp.Star) for s in selects):
        return None
    group = select.args.get("group")
    if group is not None:
        if group.args.get("all"):
            keys = [s for s in selects if not _unaliased(s).find(exp.AggFunc, exp.Window)]
            names = [_output_name(s) for s in keys]
        else:
            if group.args.get("grouping_sets") or group.args.get("cube") or group.args.get("rollup"):
                return None
            names = [_key_output(k, selects) for k in group.expressions]
        if not names or any(n is None for n in names):
            return None
        return tuple(n for n in names if n is not None)
    if select.args.get("distinct") is not None and not select.args["distinct"].args.get("on"):
        names = [_output_name(s) for s in selects]
        return None if any(n is None for n in names) else tuple(n for n in names if n is not None)
    return None


def _conjuncts(condition: exp.Expr) -> list[exp.Expr]:
    if isinstance(condition, exp.And):
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    if isinstance(condition, exp.Paren):
        return _conjuncts(condition.this)
    return [condition]


def _not_null_outputs(select: exp.Select) -> list[str]:
    required: list[exp.Column] = []
    where = select.args.get("where")
    if where is not None:
        for term in _conjuncts(where.this):
            if (
                isinstance(term, exp.Not)
                and isinstance(term.this, exp.Is)
                and isinstance(term.this.expression, exp.Null)
                and isinstance(term.this.this, exp.Column)
            ):
                required.append(term.this.this)
    out: list[str] = []
    for projection in select.selects:
        inner = _unaliased(projection)
        name = _output_name(projection)
        if name is None:
            continue
        if isinstance(inner, exp.Count) or any(_same_column(inner, col) for col in required):
            out.append(name)
    return out


def sql_proofs(query: exp.Expr) -> SqlProofs:
    """What the query's own shape guarantees about its output rows."""
    if not isinstance(query, exp.Select):
        return SqlProofs()
    key = _group_keys(query)
    return SqlProofs(unique_keys=(key,) if key else (), not_null=tuple(_not_null_outputs(query)))
