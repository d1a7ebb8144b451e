"""The one rule for names in specs: groups, sources, assets and columns.

A name is an identifier: ASCII letters, digits and ``_``, not starting with a digit, at most
:data:`MAX_NAME_LENGTH` characters. Names become file and folder names (models, Parquet
outputs), SQL identifiers and Dagster keys, so anything else (spaces, ``../``, ``/abs``, NUL,
Jinja braces, 300-byte names) is refused here, at parse time, with the key's position.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

MAX_NAME_LENGTH = 63
"""Postgres' identifier limit; well under every file system's 255-byte name limit."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid name, or None when it is."""
    if not isinstance(name, str):
        return f"a name must be text, got {type(name).__name__}"
    if len(name) > MAX_NAME_LENGTH:
        return f"a name is at most {MAX_NAME_LENGTH} characters (this one has {len(name)})"
    if not _IDENTIFIER.fullmatch(name):
        shown = name.encode("unicode_escape").decode("ascii")
        shown = shown if len(shown) <= 40 else shown[:40] + "..."
        return f"`{shown}` is not a name: use ASCII letters, digits and `_`, not starting with a digit"
    return None


def check_name(name: str) -> str:
    """Pydantic validator: return ``name`` or raise ValueError with the reason."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


Name = Annotated[str, AfterValidator(check_name)]
"""A group, source, asset or column name."""
