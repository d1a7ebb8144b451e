"""Put prod back to earlier versions from DVC (exact bytes, no recompute)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.envs.apply import applied_path
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.env_state import PROD, AssetState, EnvState, load_state, save_state

if TYPE_CHECKING:
    from datacody_dagster.versioning.history import VersionEntry


def _set_prod(root: Path, asset: str, entry: AssetState | None) -> None:
    prod = load_state(root, PROD) or EnvState(PROD)
    assets = dict(prod.assets)
    if entry is None:
        assets.pop(asset, None)
    else:
        assets[asset] = entry
    save_state(root, replace(prod, assets=assets))


def rollback_asset(project: CompiledProject, asset: str, to: str | None) -> tuple[int, str]:
    """Restore ``asset`` to version ``to`` (default: the one before current); (version, md5)."""
    from datacody_dagster.versioning.checkout import checkout_version
    from datacody_dagster.versioning.history import find_version
    from datacody_dagster.versioning.session import open_asset_versions

    versions = open_asset_versions(project.root, asset)
    if to is None and len(versions.history) < 2:
        raise DatacodyError(
            Diagnostic(RUNTIME, f"{asset} has no earlier version", hint=f"see `datacody history {asset}`")
        )
    entry = find_version(versions.history, to if to is not None else "-1", asset)
    recorded = checkout_version(
        project.root,
        project.settings.dvc,
        versions.instance,
        versions.asset.key,
        versions.asset.output,
        entry,
    )
    note_checkout(project, asset, entry, recorded.md5)
    return entry.version, recorded.md5


def note_checkout(project: CompiledProject, asset: str, entry: VersionEntry, md5: str) -> None:
    """Note in prod's state that ``asset`` holds version ``entry`` (md5 ``md5``) again, so the
    next plan compares with it and `apply` of an env planned before sees that prod moved."""
    prod = load_state(project.root, PROD)
    held = prod.assets.get(asset) if prod else None
    known = _state_of_version(project.root, asset, md5)
    if known is not None:
        _set_prod(project.root, asset, known)
    elif held is not None:
        same_code = entry.code_version in (None, held.fingerprint)
        # Without the old SQL the next plan cannot say what differs: it rebuilds the asset.
        _set_prod(
            project.root,
            asset,
            replace(
                held,
                data_version=md5,
                fingerprint=held.fingerprint if same_code else str(entry.code_version),
                sql=held.sql if same_code else None,
            ),
        )


def _state_of_version(root: Path, asset: str, md5: str) -> AssetState | None:
    """The state prod had when it held ``md5`` for ``asset`` (from applied plans), if known."""
    folder = applied_path(root, "x").parent
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        before = EnvState.from_json(json.loads(path.read_text(encoding="utf-8"))["prod_before"])
        entry = before.assets.get(asset)
        if entry is not None and entry.data_version == md5:
            return entry
    return None


def rollback_plan(project: CompiledProject, plan_id: str) -> list[tuple[str, str | None]]:
    """Restore every asset a plan promoted to its version before the plan; (asset, md5) pairs."""
    path = applied_path(project.root, plan_id)
    if not path.exists():
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"no applied plan `{plan_id}`",
                hint="`datacody env list` and the Dagster event log (datacody/plan_id) show plan ids",
            )
        )
    record = json.loads(path.read_text(encoding="utf-8"))
    before = EnvState.from_json(record["prod_before"])
    done: list[tuple[str, str | None]] = []
    for asset, info in record["assets"].items():
        md5 = info.get("before")
        if md5 is None:  # the plan added it: prod had no such output before
            output = project.root / info["path"]
            if output.is_file():
                output.unlink()
            _set_prod(project.root, asset, None)
            done.append((asset, None))
            continue
        restored = restore_version(project, asset, md5, plan_id)
        _set_prod(project.root, asset, before.assets.get(asset))
        done.append((asset, restored))
    prod = load_state(project.root, PROD)
    if prod is not None:
        save_state(project.root, replace(prod, plan_id=before.plan_id))
    return done


def restore_version(
    project: CompiledProject, asset: str, md5: str, plan_id: str, output: Path | None = None
) -> str:
    """Put the bytes of DVC version ``md5`` at the asset's prod output (``output``, by default
    from the specs), version and report it."""
    import dagster as dg
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    from datacody_dagster.emit.dagster import asset_key
    from datacody_dagster.instance import project_instance
    from datacody_dagster.versioning import record_output
    from datacody_dagster.versioning.cache import missing_objects, restore
    from datacody_dagster.versioning.history import DVC_MD5
    from datacody_dagster.versioning.remote import fetch_versions

    settings = project.settings.dvc
    if missing_objects(project.root, md5):
        if not settings.remote:
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"{asset}: version {md5} is not in the local DVC cache",
                    hint="set dvc.remote in resources/<env>.yaml to fetch it from the remote",
                )
            )
        fetch_versions(project.root, settings, [md5])
    if output is None:
        output = project.output_path(project.plan.node(asset))
    restore(project.root, md5, output)
    recorded = record_output(project.root, output, settings)
    if recorded.md5 != md5:
        raise DatacodyError(
            Diagnostic(RUNTIME, f"restored {output} hashes to {recorded.md5}, expected {md5}")
        )
    project_instance(project.root).report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=asset_key(asset),
            description=f"datacody rollback of plan {plan_id}",
            metadata={
                DVC_MD5: dg.MetadataValue.text(md5),
                "datacody/rollback_of_plan": dg.MetadataValue.text(plan_id),
            },
            tags={DATA_VERSION_TAG: md5},
        )
    )
    return md5
