"""Keep a DuckDB database a forked child inherited from its parent alive for the child's life.

A DuckDB database's destructor joins its worker threads; in a forked child those threads do not
exist, so destroying an inherited database hangs the child (or aborts it at exit). Process-wide
databases that are replaced after a fork hand the inherited one here instead of dropping it.
"""

from __future__ import annotations

import ctypes
from typing import Any


def keep_forever(obj: Any) -> None:
    """Never destroy ``obj`` in this process, not even at interpreter exit."""
    # One reference that nothing owns, so nothing releases it: a module-level list would be
    # emptied at interpreter exit and destroy the database then.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
