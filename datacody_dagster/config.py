"""Deployment settings from ``resources/<env>.yaml`` (no code there, secrets only as env refs).

``DATACODY_ENV`` picks the file (default ``dev``). Values of the form ``${VAR}`` (also inside a
longer string), ``${VAR:-default}`` or ``{env: VAR}`` are references to environment variables,
resolved for every field by :func:`resolve_env_refs` when the file is read, never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from datacody_dagster import errors
from datacody_dagster.errors import DatacodyError, Diagnostic, Location


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DvcSettings(_Settings):
    enabled: bool = True
    remote: str | None = Field(None, description="DVC remote URL (a folder in dev).")
    lock_timeout_s: float = 120.0


def _conf_text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else value


class SparkSettings(_Settings):
    master: str = Field("local[2]", description="local[N], spark://host:port (standalone), yarn, k8s://...")
    remote: str | None = Field(
        None, description="Spark Connect URL (sc://host:port); when set, `master` is not used."
    )
    conf: dict[str, Annotated[str, BeforeValidator(_conf_text)]] = Field(
        default_factory=dict, description="Spark configuration (numbers and booleans become text)."
    )
    connect_timeout_s: float = Field(
        30.0, description="Seconds to wait for the master or Connect server before the run fails."
    )


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
    from datacody_dagster.roundtrip_yaml import yaml_loader

    env = env or os.environ.get("DATACODY_ENV", "dev")
    path = root / "resources" / f"{env}.yaml"
    if not path.exists():
        return ProjectSettings()
    display = errors.relative_display_path(path, root)
    try:
        data = yaml_loader().load(path.read_text(encoding="utf-8")) or {}
    except Exception as exc:  # ruamel raises several error types for bad YAML
        raise DatacodyError(
            Diagnostic(errors.YAML_SYNTAX, f"cannot read settings: {exc}", Location(display))
        ) from None
    try:
        return ProjectSettings.model_validate(_plain(resolve_env_refs(data, display)))
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


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def resolve_env_refs(node: Any, file: str, environ: Mapping[str, str] | None = None, key: str = "") -> Any:
    """``node`` (a loaded settings file) with every environment reference replaced by its value.

    ``${VAR}`` may sit inside a longer string (``s3://${BUCKET}/dvc``); ``${VAR:-x}`` falls back
    to ``x``; a mapping that is exactly ``{env: VAR}`` becomes the variable's value. Every unset
    variable is reported at once, naming ``file:line:col``, the dotted key and the variable;
    values never appear in messages.
    """
    env = os.environ if environ is None else environ
    missing: list[Diagnostic] = []

    def walk(value: Any, where: str, pos: tuple[int, int] | None) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and "env" in value and isinstance(value["env"], str):
                return substitute("${" + value["env"] + "}", where, pos)
            return {k: walk(v, f"{where}.{k}" if where else str(k), _pos(value, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{where}[{i}]", _pos(value, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return substitute(value, where, pos)
        return value

    def substitute(text: str, where: str, pos: tuple[int, int] | None) -> str | None:
        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            line, col = pos or (0, 0)
            missing.append(
                Diagnostic(
                    errors.SPEC_SCHEMA,
                    f"{where} refers to the environment variable {name}, which is not set",
                    Location(file, line, col),
                    f"export {name}=..., or write ${{{name}:-default}} in {file}",
                )
            )
            return ""

        return _ENV_REF.sub(one, text)

    resolved = walk(node, key, None)
    if missing:
        raise DatacodyError(missing)
    return resolved


def _pos(container: Any, key: Any) -> tuple[int, int] | None:
    """1-based line and column of a value in a ruamel round-trip node (None for plain data)."""
    lc = getattr(container, "lc", None)
    if lc is None:
        return None
    try:
        line, col = lc.value(key) if isinstance(container, dict) else lc.item(key)
    except (KeyError, IndexError, TypeError):
        return None
    return line + 1, col + 1


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
