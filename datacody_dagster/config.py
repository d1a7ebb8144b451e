"""Deployment settings from ``resources/<env>.yaml`` (no code there, secrets only as env refs).

``DATACODY_ENV`` picks the file (default ``dev``). Values of the form ``${VAR}`` or
``{env: VAR}`` are references to environment variables, resolved only where used, never
printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from datacody_dagster import errors
from datacody_dagster.errors import DatacodyError, Diagnostic, Location


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DvcSettings(_Settings):
    enabled: bool = True
    remote: str | None = Field(None, description="DVC remote URL (a folder in dev).")
    lock_timeout_s: float = 120.0


class SparkSettings(_Settings):
    master: str = "local[2]"
    conf: dict[str, str] = Field(default_factory=dict)


class LlmSettings(_Settings):
    provider: Literal["anthropic", "openai_compatible"] = "anthropic"
    model: str = "claude-sonnet-4-5"
    base_url: str | None = None
    api_key_env: str = Field("ANTHROPIC_API_KEY", description="Env var holding the API key.")
    timeout_s: float = 60.0
    max_retries: int = 2


class ProjectSettings(_Settings):
    """Paths are relative to the project root."""

    specs_dir: str = "asset_specs"
    dbt_project_dir: str = "dbt_project"
    warehouse_dir: str = "data/warehouse"
    duckdb_path: str = "data/datacody.duckdb"
    proposals_dir: str = "proposals"
    dvc: DvcSettings = Field(default_factory=lambda: DvcSettings())
    spark: SparkSettings = Field(default_factory=SparkSettings)
    llm: LlmSettings = Field(default_factory=lambda: LlmSettings())
    optimizer: dict[str, Any] = Field(default_factory=dict)
    allow_external_access: bool = Field(
        False, description="Let spec SQL read and write outside the project's data folders (opt-out)."
    )
    python_modules: list[str] = Field(
        default_factory=list,
        description="Importable packages `python:` assets may use (besides the project).",
    )


def load_settings(root: Path, env: str | None = None) -> ProjectSettings:
    """Read ``resources/<env>.yaml``; a missing file means the embedded defaults."""
    from datacody_dagster.compiler.parse import yaml_loader

    env = env or os.environ.get("DATACODY_ENV", "dev")
    path = root / "resources" / f"{env}.yaml"
    if not path.exists():
        return ProjectSettings()
    display = errors.relative_display_path(path, root)
    try:
        data = yaml_loader().load(path.read_text(encoding="utf-8")) or {}
        return ProjectSettings.model_validate(_plain(data))
    except ValidationError as exc:
        raise DatacodyError(
            [
                Diagnostic(
                    errors.SPEC_SCHEMA,
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}",
                    Location(display),
                    "see resources/dev.yaml for the accepted keys",
                )
                for e in exc.errors()
            ]
        ) from None
    except Exception as exc:  # ruamel raises several error types for bad YAML
        raise DatacodyError(
            Diagnostic(errors.YAML_SYNTAX, f"cannot read settings: {exc}", Location(display))
        ) from None


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
