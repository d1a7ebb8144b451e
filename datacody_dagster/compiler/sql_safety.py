"""Static refusals of spec text that would reach outside the project or run in dbt's Jinja.

Pure functions over text (sqlglot's tokenizer and parser, no engine): a file-reading table
function anywhere in a query, Jinja other than the exact ``{{ ref('x') }}`` /
``{{ source('a', 'b') }}`` forms, and check expressions that are not one scalar predicate.
The engines are confined too (engines/sandbox.py); these give the author a located error
before anything runs.
"""

from __future__ import annotations

import itertools
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from datacody_dagster.compiler.sql import _JINJA_REF, DIALECT, MAX_NESTING, SqlProblem, nesting_problem
from datacody_dagster.compiler.sql_shape import open_join_problem, tree_depth_problem

FILE_FUNCTIONS = re.compile(
    r"(read_\w+|\w+_scan|glob|query|query_table|sniff_csv|parquet_\w+|iceberg_\w+|delta_\w+"
    r"|sqlite_\w+|postgres_\w+|mysql_\w+|ducklake_\w+|st_read\w*|duckdb_secrets|which_secret"
    r"|getenv|load_\w+|install_\w+)",
    re.IGNORECASE,
)
"""Table and scalar functions that read files, URLs, other databases or the environment."""

_JINJA_OPEN = re.compile(r"\{\{|\{%|\{#")


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def file_function_problem(sql: str) -> SqlProblem | None:
    """The first call of a file-reading function (found on tokens, so no parse tree hides it)."""
    try:
        tokens = sqlglot.tokenize(_JINJA_REF.sub(lambda m: " " * len(m.group()), sql), read=DIALECT)
    except (TokenError, ParseError, RecursionError):
        return None  # the syntax rule reports it
    for tok, nxt in itertools.pairwise(tokens):
        if nxt.token_type != TokenType.L_PAREN or tok.token_type == TokenType.STRING:
            continue
        if FILE_FUNCTIONS.fullmatch(tok.text):
            return SqlProblem(
                f"`{tok.text}(...)` reads files or settings outside the data the spec declares",
                tok.line,
                max(tok.col - len(tok.text) + 1, 1),
            )
    return None


def qualified_table_problem(query: exp.Expr) -> SqlProblem | None:
    """A ``db.table`` reference: Spark reads ``parquet.`/path``` / ``csv.`/path``` as files, and
    specs name assets by plain name only."""
    for table in query.find_all(exp.Table):
        if table.args.get("db") or table.args.get("catalog"):
            return SqlProblem(f"`{table.sql(dialect=DIALECT)}`: name assets without a qualifier")
    return None


def jinja_problem(text: str, allow_refs: bool = False) -> SqlProblem | None:
    """The first Jinja opener (``{{``, ``{%``, ``{#``) in ``text``; ref()/source() when allowed."""
    masked = _JINJA_REF.sub(lambda m: " " * len(m.group()), text) if allow_refs else text
    found = _JINJA_OPEN.search(masked)
    if found is None:
        return None
    line, col = _line_col(text, found.start())
    allowed = " other than `{{ ref('x') }}` / `{{ source('a', 'b') }}`" if allow_refs else ""
    return SqlProblem(f"Jinja (`{found.group()}`){allowed} is not allowed in spec text", line, col)


def parse_predicate(text: str) -> exp.Expr | SqlProblem:
    """One scalar boolean expression, parsed by sqlglot; anything else is a problem."""
    if nesting_problem(text) is not None:
        return SqlProblem(f"the expression is nested deeper than {MAX_NESTING} parentheses")
    open_joins = open_join_problem(text, DIALECT)
    if open_joins is not None:
        return SqlProblem(*open_joins)
    try:
        statements = [s for s in sqlglot.parse(text, read=DIALECT) if s is not None]
    except (ParseError, TokenError) as exc:
        return SqlProblem(f"not a SQL expression: {str(exc).splitlines()[0]}")
    except RecursionError:
        return SqlProblem("the expression is too deeply nested")
    if len(statements) != 1:
        return SqlProblem("write exactly one expression (no `;`)")
    node = statements[0]
    too_deep_tree = tree_depth_problem(node)
    if too_deep_tree is not None:
        return SqlProblem(too_deep_tree)
    if isinstance(node, (exp.Query, exp.DDL, exp.DML, exp.Command, exp.Set)) or not isinstance(
        node, exp.Condition
    ):
        return SqlProblem(f"an expression is a row predicate, not a {node.key.upper()} statement")
    for sub in node.walk():
        if isinstance(sub, (exp.Query, exp.Subquery, exp.Table)):
            return SqlProblem("an expression may not contain a subquery")
    return node


def render_predicate(text: str) -> str:
    """The predicate as sqlglot renders it (what runs; the author's text is never pasted)."""
    node = parse_predicate(text)
    if isinstance(node, SqlProblem):
        raise ValueError(node.message)
    return node.sql(dialect=DIALECT)
