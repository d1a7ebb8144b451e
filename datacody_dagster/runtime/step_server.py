"""The last module the step forkserver preloads: it builds the run's definitions, once per run.

A run launched from the UI starts each step in a process forked from a forkserver (see
``runtime/code_location.py``). Every step process loads the run's code location; forked from a
server that already built it, a step finds the definitions built (the YAML compiled, assets and
checks created) instead of compiling the project once more per step.

It also makes each step's event-log writes as cheap as the CLI's (``sqlite_tuning``).

The run worker names its code location in ``POINTER_ENV`` before the forkserver starts
(``run_worker.publish_definitions``); importing this module builds it. A failure here must never
kill the forkserver (it would take every step down with an EOFError and nothing on stderr): it
is said in one line on stderr and otherwise swallowed, and each step then loads the code
location itself and reports the error where Dagster shows it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from dagster._core.code_pointer import CodePointer
from dagster._core.definitions.reconstruct import reconstruct_repository_def_from_pointer
from dagster._serdes import deserialize_value

from datacody_dagster.runtime.dead_runs import INSTANCE_ENV
from datacody_dagster.runtime.process_gc import freeze_for_forks
from datacody_dagster.runtime.run_worker import POINTER_ENV
from datacody_dagster.runtime.sqlite_tuning import fast_event_log
from datacody_dagster.runtime.step_fork import building_for_forkserver


def build_published() -> bool:
    """Build the definitions named in ``POINTER_ENV``; False when none are named or they fail."""
    text = os.environ.get(POINTER_ENV)
    if not text:
        return False
    try:
        pointer = deserialize_value(text)
        if not isinstance(pointer, CodePointer):
            return False
        with building_for_forkserver():
            reconstruct_repository_def_from_pointer(pointer)
    except Exception as exc:  # each step reports it itself: see the module docstring
        reason = (str(exc).strip().splitlines() or [""])[0]
        print(
            f"datacody: the step forkserver could not preload the run's definitions "
            f"({type(exc).__name__}: {reason}); each step builds them itself and reports the error",
            file=sys.stderr,
            flush=True,
        )
        return False
    return True


_BUILT = build_published()
# Each forked step writes its events as a `datacody materialize` run does (see sqlite_tuning.py):
# a commit without fsync, no checkpoint per event. Entered after the build, so the forkserver
# itself holds no SQLite connection that its children would share; never left (steps end by
# os._exit), the last connection Dagster closes later checkpoints the WAL.
_EVENT_LOG = contextlib.ExitStack()
if os.environ.get(INSTANCE_ENV):
    _EVENT_LOG.enter_context(fast_event_log(Path(os.environ[INSTANCE_ENV])))
if _BUILT:  # in the forkserver (not where a test imports this module): every step shares them
    freeze_for_forks()
