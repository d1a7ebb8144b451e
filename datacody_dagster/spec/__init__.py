"""The asset-spec language (pydantic models, no I/O)."""

from datacody_dagster.spec.checks import CHECK_KINDS, CheckEntry
from datacody_dagster.spec.models import (
    AssetSpecModel,
    ColumnSpec,
    IncrementalSpec,
    OnCron,
    SourceSpec,
    SpecFile,
)

__all__ = [
    "CHECK_KINDS",
    "AssetSpecModel",
    "CheckEntry",
    "ColumnSpec",
    "IncrementalSpec",
    "OnCron",
    "SourceSpec",
    "SpecFile",
]
