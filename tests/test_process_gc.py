"""The collector around start-up and exit (runtime/process_gc.py)."""

from __future__ import annotations

import gc
import subprocess
import sys

from datacody_dagster.runtime.process_gc import starting_up


def test_starting_up_collects_nothing_then_freezes_and_restores() -> None:
    script = """
import gc
from datacody_dagster.runtime.process_gc import starting_up
frozen = gc.get_freeze_count()
with starting_up():
    assert not gc.isenabled()
    made = [[i] for i in range(10000)]
assert gc.isenabled() and gc.get_freeze_count() >= frozen + 10000
gc.disable()
with starting_up():
    pass
assert not gc.isenabled()  # left as it was before the block
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_collector_is_back_on_after_an_error_inside() -> None:
    was = gc.isenabled()
    try:
        with starting_up():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.isenabled() == was
    gc.unfreeze()
