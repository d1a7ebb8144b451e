"""SQL handling with sqlglot (duckdb dialect): parse, guard, dependencies, canonical form.

Spec SQL references other assets by plain name; ``{{ ref('x') }}`` and
``{{ source('group', 'x') }}`` are accepted too and read as the plain name ``x``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from datacody_dagster.compiler.sql_shape import open_join_problem, tree_depth_problem

DIALECT = "duckdb"

_JINJA_REF = re.compile(
    r"\{\{\s*(?:ref\(\s*['\"](?P<ref>[\w.]+)['\"]\s*\)"
    r"|source\(\s*['\"][\w.]+['\"]\s*,\s*['\"](?P<src>[\w.]+)['\"]\s*\))\s*\}\}"
)


def strip_jinja_refs(sql: str) -> str:
    """Replace ``{{ ref('x') }}`` / ``{{ source('g', 'x') }}`` by ``x`` (same line layout)."""
    return _JINJA_REF.sub(lambda m: m.group("ref") or m.group("src"), sql)


_TOKEN_REPR = re.compile(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>")


@dataclass(frozen=True)
class SqlProblem:
    """A problem in spec SQL or text (a query, a predicate, Jinja) at a 1-based line/col inside
    the text (0 when unknown)."""

    message: str
    line: int = 0
    col: int = 0
    not_select: bool = False


_FORBIDDEN_NODES = (
    exp.Create,
    exp.Drop,
    exp.Insert,
    exp.Delete,
    exp.Update,
    exp.Command,
    exp.Copy,
    exp.Attach,
    exp.Pragma,
)
_ALLOWED_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)


MAX_NESTING = 100
"""Deepest parenthesis nesting accepted (sqlglot parses recursively; real SQL stays under 20)."""


def nesting_problem(sql: str) -> SqlProblem | None:
    """A problem at the first parenthesis nested deeper than ``MAX_NESTING``, if any."""
    depth = 0
    line, col = 1, 0
    for ch in sql:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch == "(":
            depth += 1
            if depth > MAX_NESTING:
                return SqlProblem(f"SQL nested deeper than {MAX_NESTING} parentheses", line, col)
        elif ch == ")":
            depth -= 1
    return None


def parse_select(sql: str) -> exp.Expression | SqlProblem:
    """Parse spec SQL; return the expression or a problem (syntax, or not one SELECT)."""
    text = strip_jinja_refs(sql)
    too_deep = nesting_problem(text)
    if too_deep is not None:
        return too_deep
    open_joins = open_join_problem(text, DIALECT)
    if open_joins is not None:
        return SqlProblem(*open_joins)
    try:
        statements = [s for s in sqlglot.parse(text, read=DIALECT) if s is not None]
    except RecursionError:
        return SqlProblem("SQL too deeply nested to parse")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        desc = str(first.get("description") or exc).split("\n")[0]
        desc = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), desc)
        return SqlProblem(
            f"SQL syntax error: {desc}", int(first.get("line") or 0), int(first.get("col") or 0)
        )
    except TokenError as exc:
        return SqlProblem(f"SQL syntax error: {exc}")
    if not statements:
        return SqlProblem("`sql:` is empty", not_select=True)
    if len(statements) > 1:
        return SqlProblem(
            f"`sql:` holds {len(statements)} statements; an asset is exactly one SELECT",
            not_select=True,
        )
    stmt = statements[0]
    too_deep_tree = tree_depth_problem(stmt)
    if too_deep_tree is not None:
        return SqlProblem(too_deep_tree)
    if not isinstance(stmt, _ALLOWED_ROOTS):
        verb = stmt.key.upper() if stmt.key else type(stmt).__name__.upper()
        return SqlProblem(f"`sql:` must be a single SELECT/WITH query, found {verb}", not_select=True)
    for node in stmt.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            return SqlProblem(
                f"`sql:` may not contain {node.key.upper()}; an asset is exactly one SELECT",
                not_select=True,
            )
    return stmt


def referenced_tables(expression: exp.Expression) -> list[str]:
    """Plain table names the query reads, CTE names excluded, in order of appearance."""
    cte_names = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    names: list[str] = []
    for table in expression.find_all(exp.Table):
        name = table.name
        if not name or table.args.get("db") or isinstance(table.this, exp.Func):
            continue
        if name.lower() in cte_names:
            continue
        if name not in names:
            names.append(name)
    return names


def canonical_sql(expression: exp.Expr) -> str:
    """Formatting- and comment-independent SQL text, the basis of fingerprints."""
    # The generator normalizes identifiers and drops comments in its output: no copy needed.
    return expression.sql(dialect=DIALECT, normalize=True, comments=False)


def fingerprint(*parts: str) -> str:
    """Short stable hash of canonical parts (used as the Dagster code_version)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:16]


def rewrite_table_refs(
    expression: exp.Expression,
    render: Mapping[str, str] | Callable[[str], str | None],
    escape: Callable[[str], str] | None = None,
) -> str:
    """Pretty SQL with each referenced table replaced by ``render(name)`` (e.g. a ref()).

    ``escape`` is applied to the SQL text before the replacements go in (the emitter escapes
    Jinja in literals and comments, but not in the ``ref()`` it inserts)."""
    lookup = render.get if isinstance(render, Mapping) else render
    cte_names = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    placeholders: dict[str, str] = {}
    copy = expression.copy()
    for table in list(copy.find_all(exp.Table)):
        name = table.name
        if not name or name.lower() in cte_names or table.args.get("db"):
            continue
        replacement = lookup(name)
        if replacement is None:
            continue
        token = f"__datacody_ref_{len(placeholders)}__"
        placeholders[token] = replacement
        alias = table.args.get("alias")
        new = exp.Table(this=exp.to_identifier(token))
        if alias is not None:
            new.set("alias", alias)
        elif name != token:
            new.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        table.replace(new)
    text = copy.sql(dialect=DIALECT, pretty=True)
    if escape is not None:
        text = escape(text)
    for token, replacement in placeholders.items():
        text = text.replace(token, replacement)
    return text


def _is_star(projection: exp.Expr) -> bool:
    """`*` or `t.*` in a select list (not the star of `count(*)`)."""
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def output_columns(expression: exp.Expression, upstream_columns: Mapping[str, list[str]]) -> list[str] | None:
    """Column names the query returns, when they can be known (stars need upstream columns)."""
    from sqlglot.optimizer.qualify import qualify

    if isinstance(expression, exp.Query) and not any(_is_star(s) for s in expression.selects):
        # No star anywhere: the projection names are known without resolving upstream schemas
        # (qualify deep-copies the tree and is ~20x slower; it matters at 1,000 assets).
        names = expression.named_selects
        if names and len(names) == len(expression.selects) and all(names):
            return names
    schema: dict[str, object] = {
        name: {c: "VARCHAR" for c in cols} for name, cols in upstream_columns.items() if cols
    }
    try:
        qualified = qualify(expression.copy(), schema=schema, dialect=DIALECT, validate_qualify_columns=False)
    except Exception:  # sqlglot raises many error types on partial schemas
        return None
    if not isinstance(qualified, exp.Query):
        return None
    selects = qualified.selects
    if any(_is_star(s) for s in selects):
        return None
    names = qualified.named_selects
    if len(names) != len(selects) or any(not n for n in names):
        return None
    return names
