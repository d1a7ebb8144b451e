"""Code-quality analysis of source text: does it parse, and what structure does it have.

Python is parsed with :mod:`ast`. Other languages use tree-sitter when
``tree_sitter_language_pack`` is installed; otherwise their rows pass through unchecked
(``parsed`` is null) and the step reports them in its metadata.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class CodeStats:
    """Structure of one file; ``parsed`` is None when no parser exists for its language."""

    parsed: bool | None
    functions: int | None
    classes: int | None
    lines: int
    comment_ratio: float
    max_line_length: int


_COMMENT_PREFIX = {"python": "#", "shell": "#", "ruby": "#", "yaml": "#", "toml": "#", "sql": "--"}
_TS_FUNCTION_TYPES = {
    "function_definition",
    "function_declaration",
    "method_definition",
    "method_declaration",
    "function_item",
    "arrow_function",
}
_TS_CLASS_TYPES = {
    "class_definition",
    "class_declaration",
    "struct_item",
    "class_specifier",
    "interface_declaration",
}


def _line_stats(text: str, language: str) -> tuple[int, float, int]:
    lines = text.splitlines()
    prefix = _COMMENT_PREFIX.get(language, "//")
    nonblank = [ln.strip() for ln in lines if ln.strip()]
    comments = sum(1 for ln in nonblank if ln.startswith(prefix))
    ratio = comments / len(nonblank) if nonblank else 0.0
    return len(lines), ratio, max((len(ln) for ln in lines), default=0)


def _python_structure(text: str) -> tuple[bool, int | None, int | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False, None, None
    functions = classes = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions += 1
        elif isinstance(node, ast.ClassDef):
            classes += 1
    return True, functions, classes


@lru_cache(maxsize=32)
def _tree_sitter_parser(language: str) -> Any:
    try:
        from tree_sitter_language_pack import get_parser
    except ImportError:
        return None
    try:
        return get_parser(language)  # type: ignore[arg-type]
    except (LookupError, ValueError):
        return None


def tree_sitter_available(language: str) -> bool:
    """True when a tree-sitter grammar for ``language`` is installed."""
    return _tree_sitter_parser(language) is not None


def _tree_sitter_structure(text: str, language: str) -> tuple[bool | None, int | None, int | None]:
    parser = _tree_sitter_parser(language)
    if parser is None:
        return None, None, None
    root = parser.parse(text.encode("utf-8")).root_node
    if root.has_error:
        return False, None, None
    functions = classes = 0
    stack = [root]
    while stack:
        node = stack.pop()
        functions += node.type in _TS_FUNCTION_TYPES
        classes += node.type in _TS_CLASS_TYPES
        stack.extend(node.children)
    return True, functions, classes


def analyse(text: str, language: str) -> CodeStats:
    """Parse ``text`` as ``language`` and measure its structure."""
    lines, ratio, longest = _line_stats(text, language)
    parsed: bool | None
    if language == "python":
        parsed, functions, classes = _python_structure(text)
    else:
        parsed, functions, classes = _tree_sitter_structure(text, language)
    return CodeStats(parsed, functions, classes, lines, ratio, longest)
