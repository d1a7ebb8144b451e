"""Prod's lock for the commands that write prod outside a run (`quarantine publish`, `checkout`).

They hold it exclusively, as `apply` and `rollback` do: prod's `materialize` (and each prod step
of a run launched from the UI) holds it shared, so none of them writes an output while another
does. A waiter says once what it waits for, waits up to ``wait_s`` seconds, then fails naming
the holder (``versioning/env_locks.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from datacody_dagster.cli.common import err_console
from datacody_dagster.versioning.apply_journal import writing_prod


def _say(text: str) -> None:
    err_console.print(text, markup=False, highlight=False)


@contextlib.contextmanager
def holding_prod(root: Path, doing: str, wait_s: float) -> Iterator[None]:
    """Hold prod's lock exclusively for ``doing`` (the command, as the message names it).

    Refuses (DatacodyError) while an interrupted apply's journal is on disk: prod is half-applied
    and the commands that can finish it (`materialize`, `apply`, `rollback`) say so.
    """
    with writing_prod(root, doing, wait_s, _say):
        yield
