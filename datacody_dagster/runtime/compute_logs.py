"""A forked step's stdout and stderr captured to Dagster's compute-log files, without a mirror.

Dagster's ``LocalComputeLogManager`` captures each stream of each step to a file and mirrors the
file back to the process's own stream with a ``tail -F`` and a watcher process (a Python
interpreter) per stream: four processes per step, started when the step starts and stopped
(terminated, then waited for) when it ends, ~60 ms of wall on every step's way out and ~40
CPU-ms. A UI run's steps (``runtime/step_fork.py``) write to the same files, which the UI shows
as the step's logs; only the echo on `dagster dev`'s terminal is gone. Every other use (the
webserver reading logs, the run worker, the CLI) keeps Dagster's class.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dagster._core.execution.compute_logs import redirect_to_file
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION, LocalComputeLogManager
from dagster._serdes import ConfigurableClassData
from dagster._utils import ensure_file, touch_file

_DAGSTERS = ("dagster._core.storage.local_compute_log_manager", "LocalComputeLogManager")
_OURS = (__name__, "CapturedComputeLogManager")


class CapturedComputeLogManager(LocalComputeLogManager):
    """Dagster's local compute logs, captured without the ``tail -F`` mirror."""

    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        out = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        err = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        ensure_file(out)
        ensure_file(err)
        with redirect_to_file(sys.stdout, out), redirect_to_file(sys.stderr, err):
            yield CapturedLogContext(log_key)
        touch_file(self.complete_artifact_path(log_key))  # as Dagster's: the capture is complete

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> CapturedComputeLogManager:
        return cls(inst_data=inst_data, **config_value)


def captured_compute_logs_ref(ref: Any) -> Any:
    """``ref`` (an ``InstanceRef``) with :class:`CapturedComputeLogManager` where it names Dagster's
    local compute logs (the same files); any other compute-log manager is kept."""
    data = ref.compute_logs_data
    if data is None or (data.module_name, data.class_name) != _DAGSTERS:
        return ref
    return ref._replace(compute_logs_data=ConfigurableClassData(*_OURS, data.config_yaml))
