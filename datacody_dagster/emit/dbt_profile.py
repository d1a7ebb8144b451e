"""Refuse to run dbt through a profile that lacks the sandbox plugin (fail closed).

``profiles.yml`` is written once by `datacody init` and then belongs to the user; a project
created before the sandbox existed, or a hand-edited profile, would run spec SQL unconfined.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from datacody_dagster import errors
from datacody_dagster.errors import DatacodyError, Diagnostic, Location

PLUGIN = "datacody_dagster.engines.dbt_sandbox"
SNIPPET = (
    "plugins:\n  - module: datacody_dagster.engines.dbt_sandbox\n"
    "    config: {project_root: \"{{ env_var('DATACODY_PROJECT_ROOT', '..') }}\"}"
)


def profile_problem(profiles: Path) -> str | None:
    """Why the ``datacody`` profile's DuckDB outputs are not all confined, or None."""
    try:
        doc: Any = yaml.safe_load(profiles.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return f"cannot read it: {exc}"
    outputs = ((doc or {}).get("datacody") or {}).get("outputs") if isinstance(doc, dict) else None
    if not isinstance(outputs, dict) or not outputs:
        return "it has no `datacody` profile with outputs"
    for name, out in outputs.items():
        if not isinstance(out, dict) or out.get("type") != "duckdb":
            continue
        modules = [p.get("module") for p in out.get("plugins") or [] if isinstance(p, dict)]
        if PLUGIN not in modules:
            return f"output `{name}` does not load the sandbox plugin"
    return None


def require_confined_profile(project_root: Path, dbt_dir: Path, display_dir: str) -> None:
    """Raise unless ``profiles.yml`` confines dbt's DuckDB (or the project opted out)."""
    from datacody_dagster.config import load_settings

    profiles = dbt_dir / "profiles.yml"
    if not profiles.exists() or load_settings(project_root).allow_external_access:
        return
    problem = profile_problem(profiles)
    if problem is not None:
        raise DatacodyError(
            Diagnostic(
                errors.RUNTIME,
                f"{display_dir}/profiles.yml: {problem}, so spec SQL would run unconfined",
                Location(f"{display_dir}/profiles.yml"),
                f"add to each duckdb output:\n{SNIPPET}\n"
                "(or set `allow_external_access: true` in resources/<env>.yaml)",
            )
        )
