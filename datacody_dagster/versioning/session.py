"""What the history/diff/checkout commands share: project, asset, instance and its versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datacody_dagster.versioning.assets import VersionedAsset, resolve_asset
from datacody_dagster.versioning.history import VersionEntry, asset_history

if TYPE_CHECKING:
    import dagster as dg

    from datacody_dagster.compiler import CompiledProject


@dataclass(frozen=True)
class AssetVersions:
    project: CompiledProject
    asset: VersionedAsset
    instance: dg.DagsterInstance
    history: list[VersionEntry]  # newest first


def open_asset_versions(root: Path, name: str) -> AssetVersions:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.instance import project_instance

    project = compile_project(root)
    asset = resolve_asset(project, name)
    instance = project_instance(project.root)
    return AssetVersions(project, asset, instance, asset_history(instance, asset.key))
