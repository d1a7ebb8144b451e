"""Keep a DuckDB database a forked child inherited from its parent alive for the child's life.

A DuckDB database's destructor joins its worker threads; in a forked child those threads do not
exist, so destroying an inherited database hangs the child (or aborts it at exit). Process-wide
databases that are replaced after a fork hand the inherited one here instead of dropping it.
"""

from __future__ import annotations

from typing import Any

_inherited: list[Any] = []


def keep_forever(obj: Any) -> None:
    """Never destroy ``obj`` in this process, not even at interpreter exit."""
    import ctypes

    _inherited.append(obj)
    # The list alone is emptied at interpreter exit, which would destroy the database then: one
    # reference that nothing releases keeps it alive through the exit too.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
