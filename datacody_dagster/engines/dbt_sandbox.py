"""A dbt-duckdb plugin that confines dbt's DuckDB connection (see engines/sandbox.py).

The generated ``profiles.yml`` lists it under ``plugins:``; dbt-duckdb calls
:meth:`Plugin.configure_connection` once per connection, after opening the database and
before any model runs, so every model (and the views it creates) runs inside the sandbox.
``settings:`` cannot carry the recipe: dbt-duckdb re-applies them on every cursor, and a
locked configuration refuses the second ``SET``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from datacody_dagster.engines.sandbox import NO_AUTOLOAD, confine, data_directories

_HANDED: dict[str, list[Path] | None] = {}


def hand_directories(root: Path, directories: list[Path] | None) -> None:
    """Give this process's plugin the folders of the project at ``root``, computed by the caller.

    A `datacody materialize`'s dbt worker gets them from its parent, which computed them from
    the compiled project (``engines/sandbox.project_directories``): without them the plugin would
    import the compiler (~0.35 CPU-s) and parse every spec again at each connection. Only code in
    this process can hand them: nothing a spec, a ``.env`` file or the environment says widens
    the sandbox.
    """
    _HANDED[str(Path(root).resolve())] = None if directories is None else list(directories)


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
        root = str(self.project_root)
        directories = _HANDED[root] if root in _HANDED else sandbox_directories(self.project_root)
        if directories is not None:
            confine(conn, directories)
