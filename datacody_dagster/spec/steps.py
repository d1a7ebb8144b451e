"""Step arguments as pydantic models: what the compiler validates (no pyarrow or engines here).

A step in YAML is a one-key mapping ``{kind: args}``; :func:`parse_step` validates it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StepArgs(BaseModel):
    """Base of every step's argument model (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FilterArgs(StepArgs):
    predicate: str = Field(description="DuckDB-dialect row predicate, e.g. `lines > 10`.")
    # Checked to be one scalar predicate by compiler/validate/steps.py; run re-rendered by sqlglot.


class CodeQualityArgs(StepArgs):
    column: str = Field("content", description="Column holding the source text.")
    language: str | None = Field(
        None, description="Language of every row; default: the row's `language_column` (text sources set it)."
    )
    language_column: str = "language"
    min_lines: int = Field(1, ge=0)
    max_lines: int | None = Field(None, ge=1)
    max_line_length: int | None = Field(None, ge=1)
    min_comment_ratio: float | None = Field(None, ge=0.0, le=1.0)
    max_comment_ratio: float | None = Field(None, ge=0.0, le=1.0)
    drop_unparsed: bool = Field(True, description="Drop rows that fail to parse.")


class DedupArgs(StepArgs):
    column: str = Field("content", description="Text column compared.")
    method: Literal["exact", "minhash"] = "minhash"
    threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard similarity of word n-grams.")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations.")
    ngram: int = Field(3, ge=1, le=16, description="Words per shingle.")
    seed: int = 1


class AugmentArgs(StepArgs):
    label: str = Field(description="Class column whose rare values are oversampled.")
    target_share: float = Field(gt=0.0, lt=1.0, description="Share of the rows each rare class reaches.")
    method: Literal["oversample"] = "oversample"
    seed: int = Field(1, description="Fixes which rows are copied (same on DuckDB and Spark).")
    near_duplicates: DedupArgs | None = Field(
        None,
        description="Copy only rows this dedup keeps (e.g. `{column: content, threshold: 0.8}`), "
        "so no near-duplicate is amplified.",
    )


class ScanArgs(StepArgs):
    columns: list[str] | None = Field(None, description="Text columns to scan; default: every string column.")
    action: Literal["flag", "redact", "drop"] = "flag"


class OutputArgs(StepArgs):
    partition_by: list[str] = Field(default_factory=list, description="Hive partition columns.")
    compression: Literal["zstd", "snappy", "gzip", "lz4", "none"] = "zstd"

    @field_validator("partition_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


STEP_ARGS: dict[str, type[StepArgs]] = {
    "filter": FilterArgs,
    "code_quality": CodeQualityArgs,
    "dedup": DedupArgs,
    "scan_secrets": ScanArgs,
    "scan_pii": ScanArgs,
    "output": OutputArgs,
    "augment": AugmentArgs,
}

SHORTHAND: dict[str, str] = {"filter": "predicate", "output": "partition_by"}
"""Argument that a bare scalar fills: ``filter: "x > 1"``, ``output: language``."""


class StepSpecError(ValueError):
    """A step list item that is not ``{kind: args}`` with a known kind."""


def parse_step(item: Any) -> tuple[str, StepArgs]:
    """Validate one step (raises StepSpecError or pydantic.ValidationError)."""
    if not isinstance(item, Mapping) or len(item) != 1:
        raise StepSpecError(
            "a step is a mapping with exactly one key, its kind, e.g. `- dedup: {method: exact}`"
        )
    kind, value = next(iter(item.items()))
    if kind not in STEP_ARGS:
        raise StepSpecError(f"unknown step kind `{kind}`; kinds: {', '.join(STEP_ARGS)}")
    if value is None:
        value = {}
    if kind in SHORTHAND and not isinstance(value, Mapping):
        value = {SHORTHAND[kind]: value}
    return str(kind), STEP_ARGS[kind].model_validate(value)


def output_partition_by(steps: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """``partition_by`` of the pipeline's `output` step, if any (tolerant: no validation)."""
    for item in steps:
        value = item.get("output") if isinstance(item, Mapping) else None
        if isinstance(value, Mapping):
            value = value.get("partition_by")
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list):
            return tuple(str(c) for c in value)
    return ()
