"""The Dagster Component: point a `dg` project at a folder of datacody specs.

Registered through the `dagster_dg_cli.registry_modules` entry point, so
`dg list components` shows `datacody_dagster.DatacodyProject`. In a `defs.yaml`:

    type: datacody_dagster.component.DatacodyProject
    attributes:
      project_dir: ../../datacody_project   # holds asset_specs/, resources/, dbt_project/
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class DatacodyProject(dg.Component, dg.Resolvable, dg.Model):
    """Assets, checks and schedules compiled from a datacody project's asset specs."""

    project_dir: str = "."
    """Project root, relative to the defs.yaml folder (or absolute)."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        from datacody_dagster.definitions import build_definitions

        root = Path(self.project_dir)
        if not root.is_absolute():
            root = (Path(context.path) / root).resolve()
        return build_definitions(root)


__all__ = ["DatacodyProject"]
