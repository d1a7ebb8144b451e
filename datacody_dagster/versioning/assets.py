"""Resolve an asset name from the command line to its key, output and unique key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

if TYPE_CHECKING:
    import dagster as dg

    from datacody_dagster.compiler import CompiledProject


@dataclass(frozen=True)
class VersionedAsset:
    name: str
    key: dg.AssetKey
    output: Path
    unique_key: tuple[str, ...] | None


def resolve_asset(project: CompiledProject, name: str) -> VersionedAsset:
    """The asset called ``name``; DatacodyError when unknown or not stored as Parquet."""
    from datacody_dagster.emit.dagster import asset_key

    try:
        node = project.plan.node(name)
    except KeyError:
        known = ", ".join(sorted(project.plan.names)[:12])
        raise DatacodyError(
            Diagnostic(RUNTIME, f"unknown asset {name!r}", hint=f"known assets: {known}")
        ) from None
    if node.is_dbt_view:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"{name} is a view: it stores no data, so it has no versions",
                node.location,
                "set `materialized: table` to store and version it",
            )
        )
    unique = next((tuple(c.columns) for c in node.checks if c.kind == "unique"), None)
    return VersionedAsset(
        name=name,
        key=asset_key(name),
        output=project.output_path(node),
        unique_key=unique or node.incremental_key or None,
    )
