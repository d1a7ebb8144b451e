"""dbt's error text for a generated model, pointed back at the spec that declares it.

DuckDB marks the failing token of the compiled SQL (``LINE 15: X`` with carets under it); the
token is looked up in the asset's block of the spec file, so the message starts with the spec's
``file:line:col`` rather than a line of a generated file the user never edits.
"""

from __future__ import annotations

import re

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.errors import Location

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(r"^\s*LINE \d+:\s?(?P<text>.*)$")


def clean(text: str) -> str:
    """dbt's message without terminal colours and trailing blanks."""
    return "\n".join(line.rstrip() for line in _ANSI.sub("", text).strip().splitlines())


def _marked_token(message: str) -> str | None:
    """The text DuckDB underlines with carets below a ``LINE n:`` line."""
    lines = message.splitlines()
    for i, line in enumerate(lines[:-1]):
        match = _LINE.match(line)
        carets = re.search(r"\^+", lines[i + 1])
        if match and carets:
            start, end = carets.span()
            token = line[start:end].strip()
            return token or None
    return None


def _token_location(project: CompiledProject, asset: Location, token: str) -> Location | None:
    """Where ``token`` first appears in the asset's block of its spec file (case-insensitive)."""
    try:
        lines = (project.root / asset.file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    key_indent = max(asset.col - 1, 0)
    needle = token.lower()
    for number in range(asset.line, len(lines)):
        text = lines[number]
        if text.strip() and len(text) - len(text.lstrip()) <= key_indent:
            break  # the next asset (or section) starts: the token is not in this block
        col = text.lower().find(needle)
        if col >= 0:
            return Location(asset.file, number + 1, col + 1)
    return None


def located(project: CompiledProject, name: str, message: str) -> str:
    """Prefix dbt's message for model ``name`` with the spec location (``file:line:col``)."""
    message = clean(message)
    try:
        asset = project.plan.node(name).location
    except KeyError:  # a hand-written model beside the generated ones
        return message
    token = _marked_token(message)
    where = (_token_location(project, asset, token) if token else None) or asset
    if message.startswith(str(where)):
        return message
    return f"{where}: dbt error in `{name}` (declared at {asset}): {message}"
