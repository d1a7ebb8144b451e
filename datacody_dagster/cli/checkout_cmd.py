"""`datacody checkout ASSET VERSION`: restore an earlier version of an asset's output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def checkout(
        asset: Annotated[str, typer.Argument(help="Asset name, as in asset_specs/.")],
        version: Annotated[
            str, typer.Argument(help="Version number (see `datacody history`) or hash prefix.")
        ],
        project_dir: ProjectDir = Path("."),
        wait_timeout: Annotated[
            float, typer.Option(help="Seconds to wait for prod's runs (a materialize, an apply) to finish.")
        ] = 600.0,
    ) -> None:
        """Restore VERSION of ASSET from the DVC cache (or remote) and record it as current."""
        from datacody_dagster.cli.prod_lock import holding_prod
        from datacody_dagster.errors import relative_display_path
        from datacody_dagster.versioning.checkout import checkout_version
        from datacody_dagster.versioning.history import find_version
        from datacody_dagster.versioning.session import open_asset_versions

        with holding_prod(project_dir.resolve(), "datacody checkout", wait_timeout):
            versions = open_asset_versions(project_dir.resolve(), asset)
            entry = find_version(versions.history, version, asset)
            root = versions.project.root
            recorded = checkout_version(
                root,
                versions.project.settings.dvc,
                versions.instance,
                versions.asset.key,
                versions.asset.output,
                entry,
            )
            # prod's state follows, as after `rollback` (an env planned before sees prod moved)
            from datacody_dagster.envs.rollback import note_checkout

            note_checkout(versions.project, asset, entry, recorded.md5)
        shown = relative_display_path(recorded.path, root)
        console.print(
            f"[green]restored[/green] {asset} v{entry.version} ({entry.hash[:12]}) to {shown}; "
            f"recorded as v{versions.history[0].version + 1} (downstream assets may now be stale)"
        )
