"""The compiler: YAML text -> spec models -> diagnostics -> ProjectPlan.

It never imports dagster, duckdb or pyspark, so the CLI's `validate` and `compile` stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from datacody_dagster.compiler.index import ProjectIndex, build_index
from datacody_dagster.compiler.parse import parse_specs
from datacody_dagster.compiler.plan import Node, ProjectPlan, build_plan
from datacody_dagster.compiler.semantic import SemanticLayer
from datacody_dagster.compiler.semantic_plan import build_semantic_layer
from datacody_dagster.compiler.validate import validate
from datacody_dagster.config import ProjectSettings, load_settings
from datacody_dagster.errors import DatacodyError, Diagnostic, Severity


@dataclass(frozen=True)
class CompiledProject:
    """A validated project: its root, settings and plan."""

    root: Path
    settings: ProjectSettings
    plan: ProjectPlan
    env: str = "prod"
    """The environment outputs are written to (``datacody plan --env NAME``)."""
    output_overrides: Mapping[str, str] = field(default_factory=dict)
    """Asset name -> output path relative to the root, for assets an environment rebuilds;
    every other asset is read from prod."""
    semantic: SemanticLayer = field(default_factory=SemanticLayer)
    """Semantic models and metrics (`semantic:` on assets, `metrics:` in files)."""

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def warehouse_dir(self) -> Path:
        return self.root / self.settings.warehouse_dir

    def output_path(self, node: Node) -> Path:
        override = self.output_overrides.get(node.name)
        return self.root / (override or node.output_relpath(self.settings.warehouse_dir))


def _index_and_diagnostics(root: Path, settings: ProjectSettings) -> tuple[ProjectIndex, list[Diagnostic]]:
    files, diags = parse_specs(root / settings.specs_dir, root)
    index = build_index(root, files)
    return index, diags + validate(index)


def diagnose(root: Path) -> tuple[ProjectIndex | None, list[Diagnostic]]:
    """Parse and validate; all diagnostics of the run at once."""
    return _index_and_diagnostics(root, load_settings(root))


def compile_project(root: Path | str) -> CompiledProject:
    """Parse, validate and plan the project at ``root``; raise DatacodyError on any error."""
    root = Path(root).resolve()
    settings = load_settings(root)
    index, diags = _index_and_diagnostics(root, settings)
    errs = [d for d in diags if d.severity == Severity.ERROR]
    if errs:
        raise DatacodyError(errs)
    return CompiledProject(
        root=root, settings=settings, plan=build_plan(index), semantic=build_semantic_layer(index)
    )


__all__ = ["CompiledProject", "Node", "ProjectPlan", "compile_project", "diagnose"]
