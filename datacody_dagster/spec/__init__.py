"""The asset-spec language (pydantic models, no I/O)."""

from datacody_dagster.spec.checks import CHECK_KINDS, CheckEntry
from datacody_dagster.spec.exports import ExportSpec
from datacody_dagster.spec.models import (
    AssetSpecModel,
    ColumnSpec,
    IncrementalSpec,
    OnCron,
    SourceSpec,
    SpecFile,
)
from datacody_dagster.spec.query import MetricQuery
from datacody_dagster.spec.semantic import (
    DimensionSpec,
    EntitySpec,
    MeasureSpec,
    MetricSpec,
    SemanticSpec,
)

__all__ = [
    "CHECK_KINDS",
    "AssetSpecModel",
    "CheckEntry",
    "ColumnSpec",
    "DimensionSpec",
    "EntitySpec",
    "ExportSpec",
    "IncrementalSpec",
    "MeasureSpec",
    "MetricQuery",
    "MetricSpec",
    "OnCron",
    "SemanticSpec",
    "SourceSpec",
    "SpecFile",
]
