"""Checks on the shape of spec SQL that sqlglot would take minutes over or crash on.

- sqlglot parses a JOIN without ON/USING by first trying to read the joins after it as a
  nested join (``a join b join c on x on y``) and, when no ON/USING follows, backing up and
  reading them again: ``n`` such joins in one FROM cost ``2^n`` (20 take ~20 s here, 30
  hours) inside compiled code that no alarm interrupts. DuckDB refuses a plain JOIN without
  a condition anyway, so a handful is already an error.
- A chain of subscripts (``x[1][1]...``) parses in quadratic time (400: 4 s, 1,500: minutes).
- A tree parsed without recursion can still be too deep to render (sqlglot's generator
  recurses, except along a chain of one binary operator): ``1::int::int...`` or
  ``1 + 1 - 1 + ...`` of a thousand levels is a RecursionError in ``canonical_sql``.

The first two are counted on tokens (linear, before parsing), the last on the parsed tree.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

MAX_OPEN_JOINS = 8
"""Joins without ON/USING left open in one FROM clause (parse cost doubles with each)."""
MAX_SUBSCRIPTS = 50
"""Subscripts in one chain (``x[1][2]``; parse cost grows with the square)."""
MAX_TREE_DEPTH = 200
"""Levels of a parsed expression that the generator renders by recursion."""

_METHODS = {TokenType.ASOF, TokenType.NATURAL, TokenType.POSITIONAL}
_SIDES_AND_KINDS = {
    TokenType.LEFT,
    TokenType.RIGHT,
    TokenType.FULL,
    TokenType.ANTI,
    TokenType.INNER,
    TokenType.OUTER,
    TokenType.SEMI,
}
_CONDITIONS = {TokenType.ON, TokenType.USING}


def _tries_nested(tokens: list[Token], i: int) -> bool:
    """Whether the JOIN at ``i`` is one the parser reads nested joins after (sqlglot's
    ``_parse_join``: not CROSS, not NATURAL/ASOF/POSITIONAL, not UNNEST)."""
    if i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.UNNEST:
        return False
    j = i - 1
    while j >= 0 and tokens[j].token_type in _SIDES_AND_KINDS:
        j -= 1
    if j >= 0 and tokens[j].token_type in _METHODS:
        return False
    return i == 0 or tokens[i - 1].token_type != TokenType.CROSS


def open_join_problem(sql: str, dialect: str) -> tuple[str, int, int] | None:
    """(message, line, col) at the first JOIN beyond ``MAX_OPEN_JOINS`` unconditioned joins,
    or at the first subscript beyond ``MAX_SUBSCRIPTS`` in one chain."""
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
    except (TokenError, ParseError, RecursionError):
        return None  # the parser reports the syntax error
    # open JOIN tokens per parenthesis level; a SELECT at that level starts a new FROM
    stacks: list[list[Token]] = [[]]
    subscripts = 0
    for i, tok in enumerate(tokens):
        kind = tok.token_type
        closed: list[Token] = []
        if kind == TokenType.L_PAREN:
            stacks.append([])
        elif kind == TokenType.R_PAREN and len(stacks) > 1:
            closed = stacks.pop()
        elif kind == TokenType.SELECT:
            closed, stacks[-1] = stacks[-1], []
        elif kind in _CONDITIONS and stacks[-1]:
            stacks[-1].pop()
        elif kind == TokenType.JOIN and _tries_nested(tokens, i):
            stacks[-1].append(tok)
        elif kind == TokenType.L_BRACKET and i and tokens[i - 1].token_type == TokenType.R_BRACKET:
            subscripts += 1
            if subscripts >= MAX_SUBSCRIPTS:
                return (
                    f"more than {MAX_SUBSCRIPTS} subscripts in a row (`x[1][2]...`): "
                    "index fewer levels, or unnest the list first",
                    tok.line,
                    max(tok.col, 1),
                )
        elif kind == TokenType.R_BRACKET and (
            i + 1 == len(tokens) or tokens[i + 1].token_type != TokenType.L_BRACKET
        ):
            subscripts = 0  # the chain ends
        found = _too_many(closed)
        if found:
            return found
    for stack in stacks:
        found = _too_many(stack)
        if found:
            return found
    return None


def _same_chain(parent: exp.Expr, child: exp.Expr) -> bool:
    """Whether the generator renders ``child`` in ``parent``'s loop rather than recursing."""
    if isinstance(child, exp.Connector) and isinstance(parent, exp.Connector):
        return True
    if isinstance(child, exp.SetOperation) and isinstance(parent, exp.SetOperation):
        return True
    return isinstance(child, exp.Binary) and type(child) is type(parent)


def tree_depth_problem(tree: exp.Expr) -> str | None:
    """A message when the parsed ``tree`` nests deeper than ``MAX_TREE_DEPTH`` levels."""
    stack: list[tuple[exp.Expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            return (
                f"SQL nested deeper than {MAX_TREE_DEPTH} levels (chained casts, mixed operators, "
                "nested calls): split it into CTEs or simpler expressions"
            )
        for child in node.iter_expressions():
            stack.append((child, depth if _same_chain(node, child) else depth + 1))
    return None


def _too_many(stack: list[Token]) -> tuple[str, int, int] | None:
    if len(stack) <= MAX_OPEN_JOINS:
        return None
    tok = stack[MAX_OPEN_JOINS]
    return (
        f"{len(stack)} JOINs without ON or USING in one FROM clause (at most {MAX_OPEN_JOINS}): "
        "give each JOIN a condition (`on a.id = b.id`, `using (id)`) or write CROSS JOIN",
        tok.line,
        max(tok.col - len(tok.text) + 1, 1),
    )
