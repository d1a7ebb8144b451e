"""Python's cyclic garbage collector in a short-lived process: off at start-up, skipped at exit.

A `datacody materialize` and its dbt worker spend most of their first seconds importing
(Dagster, SQLAlchemy, dbt, mashumaro): hundreds of thousands of objects that live until the
process ends. The collector, run every 700 allocations, re-scans them again and again without
finding garbage, and at exit the interpreter's final collection walks all of them once more.
Measured on the jaffle run of ``bench/e2e.py`` (one core free, medians): the collector took
0.5 CPU-s during the CLI's run and 0.25 s of the worker's 2.1 s import and parse, and the exit
took 0.8 s after the last line was printed. With the collector off while starting and the
start-up's objects frozen (``gc.freeze``: later collections skip them), both costs go; the
collector still runs on whatever the run itself allocates, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def starting_up() -> Iterator[None]:
    """No cyclic collection inside the block; its survivors are frozen when it ends.

    For imports and one-time set-up only (what they allocate lives as long as the process):
    the collector is back on after the block, as it was before it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def skip_final_collection() -> None:
    """Freeze every object, so the interpreter's collection at exit has nothing to walk.

    Call it when a command's work is done (output written, files and databases closed by
    their own ``with`` blocks). Cyclic garbage left at that point is not finalized: the
    process ends anyway, and the operating system reclaims its memory and descriptors (an
    SQLite connection left open keeps its committed transactions in its write-ahead log,
    which the next opener reads).
    """
    gc.freeze()


def freeze_for_forks() -> None:
    """Collect, then freeze every object left: processes forked from here (the UI run's step
    forkserver) share them copy-on-write, and their collections neither walk nor copy them."""
    gc.collect()
    gc.freeze()
