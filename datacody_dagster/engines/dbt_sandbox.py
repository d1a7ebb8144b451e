"""A dbt-duckdb plugin that confines dbt's DuckDB connection (see engines/sandbox.py).

The generated ``profiles.yml`` lists it under ``plugins:``; dbt-duckdb calls
:meth:`Plugin.configure_connection` once per connection, after opening the database and
before any model runs, so every model (and the views it creates) runs inside the sandbox.
``settings:`` cannot carry the recipe: dbt-duckdb re-applies them on every cursor, and a
locked configuration refuses the second ``SET``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from datacody_dagster.engines.sandbox import DIRECTORIES_ENV, NO_AUTOLOAD, confine, data_directories


def _given_directories(root: Path) -> tuple[bool, list[Path] | None]:
    """(True, folders) when the environment hands this root's folders; (False, None) otherwise."""
    try:
        given = json.loads(os.environ.get(DIRECTORIES_ENV) or "null")
    except ValueError:
        return False, None
    if not isinstance(given, dict) or given.get("root") != str(root):
        return False, None
    listed = given.get("directories")
    if listed is None:
        return True, None
    return True, [Path(str(d)) for d in listed]


def sandbox_directories(root: Path) -> list[Path] | None:
    """The folders dbt may use in the project at ``root``; None when the project opted out."""
    from datacody_dagster.compiler.parse import parse_specs
    from datacody_dagster.compiler.paths import STDLIB_SCHEME, static_prefix
    from datacody_dagster.config import load_settings

    settings = load_settings(root)
    if settings.allow_external_access:
        return None
    files, _ = parse_specs(root / settings.specs_dir, root)
    # dbt reads raw sources straight from their files: their folders are allowed too.
    extra = [
        root / static_prefix(src.path)
        for pf in files
        for src in pf.spec.sources.values()
        if not src.path.startswith(STDLIB_SCHEME)
    ]
    return data_directories(root, settings, [p if p.is_dir() else p.parent for p in extra])


class Plugin(BasePlugin):
    """``plugins: [{module: datacody_dagster.engines.dbt_sandbox, config: {project_root: ..}}]``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.project_root = Path(str(plugin_config.get("project_root") or "..")).resolve()

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        config.update(NO_AUTOLOAD)

    def configure_connection(self, conn: Any) -> None:
        given, directories = _given_directories(self.project_root)
        if not given:
            directories = sandbox_directories(self.project_root)
        if directories is not None:
            confine(conn, directories)
