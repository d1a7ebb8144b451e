"""What every step kind provides, and the row key that makes both engines agree.

A step is a pure transformation of a table with typed arguments. It runs on Arrow tables
(the DuckDB engine) and on Spark DataFrames; both carry the hidden ``_dc_row`` column, the
row's position in the input (file rank << 40 | row index in file), which makes "first row
wins" decisions identical on both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.spec.steps import StepArgs, parse_step

ROW_KEY = "_dc_row"
"""Hidden column: the row's stable position in the input, dropped before writing."""

ROW_KEY_FILE_SHIFT = 40

PERSISTED = "_persisted"
"""Metadata key under which a Spark runner lists DataFrames it cached (the runner frees them)."""


Metadata = dict[str, Any]
ArrowRunner = Callable[[pa.Table, Any], tuple[pa.Table, Metadata]]
SparkRunner = Callable[[Any, Any], tuple[Any, Metadata]]


@dataclass(frozen=True)
class StepKind:
    """A registered step kind: its argument model and one runner per engine."""

    kind: str
    args_model: type[StepArgs]
    run_arrow: ArrowRunner
    run_spark: SparkRunner
    description: str = ""

    def parse(self, value: Any) -> StepArgs:
        """Validate raw YAML arguments (raises pydantic.ValidationError)."""
        return parse_step({self.kind: value})[1]


def step_error(message: str, hint: str | None = None) -> DatacodyError:
    """A runtime error of a step, shown to the user without a traceback."""
    return DatacodyError(Diagnostic(RUNTIME, message, None, hint))


def require_columns(columns: list[str], present: list[str], step: str) -> None:
    """Fail with the list of available columns when a step names a missing one."""
    missing = [c for c in columns if c not in present]
    if missing:
        visible = [c for c in present if c != ROW_KEY]
        raise step_error(
            f"step `{step}`: unknown column(s) {', '.join(map(repr, missing))}",
            f"available columns: {', '.join(visible)}",
        )


def text_columns(schema: pa.Schema, exclude: tuple[str, ...] = ()) -> list[str]:
    """String columns of a schema (the default scan targets)."""
    return [
        f.name
        for f in schema
        if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)) and f.name not in exclude
    ]
