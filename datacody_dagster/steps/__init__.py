"""Training-data steps (`from: INPUT` + `steps:`), each available on DuckDB and Spark.

Argument models live in :mod:`datacody_dagster.spec.steps` (what the compiler imports); the
``STEPS`` registry (kind -> :class:`~datacody_dagster.steps.base.StepKind` with one runner per
engine) and :func:`run_steps_asset` load pyarrow and are imported on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["STEPS", "run_steps_asset"]


def __getattr__(name: str) -> Any:
    if name == "STEPS":
        from datacody_dagster.steps.registry import STEPS

        return STEPS
    if name == "run_steps_asset":
        from datacody_dagster.steps.runner import run_steps_asset

        return run_steps_asset
    raise AttributeError(name)
