"""What `mf validate-configs` checks, run on the warehouse's outputs: MetricFlow's semantic rules,
then every semantic model, dimension, entity, measure and metric as a dry-run query (EXPLAIN)."""

from __future__ import annotations

from dataclasses import dataclass

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.semantic.engine import open_engine


@dataclass(frozen=True)
class ValidationReport:
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    stages: tuple[tuple[str, int], ...]
    """(stage, number of errors) in the order they ran."""


def validate_semantic_layer(project: CompiledProject) -> ValidationReport:
    from metricflow.validation.data_warehouse_model_validator import DataWarehouseModelValidator
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import (
        SemanticManifestValidator,
    )
    from metricflow_semantic_interfaces.validations.validator_helpers import SemanticManifestValidationResults

    from datacody_dagster.semantic.client import DuckDbSqlClient
    from datacody_dagster.semantic.manifest import load_semantic_manifest

    manifest = load_semantic_manifest(project)
    results = [("semantics", SemanticManifestValidator(max_workers=1).validate_semantic_manifest(manifest))]
    if not results[0][1].has_blocking_issues:
        with open_engine(project) as engine:
            warehouse = DataWarehouseModelValidator(sql_client=DuckDbSqlClient(engine.con))
            results += [
                ("semantic models", warehouse.validate_semantic_models(manifest)),
                ("dimensions", warehouse.validate_dimensions(manifest)),
                ("entities", warehouse.validate_entities(manifest)),
                ("measures", warehouse.validate_simple_metrics(manifest)),
                ("metrics", warehouse.validate_metrics(manifest)),
            ]
    merged = SemanticManifestValidationResults.merge([r for _, r in results])
    return ValidationReport(
        errors=tuple(_first_lines(i.as_readable_str()) for i in merged.errors),
        warnings=tuple(_first_lines(i.as_readable_str()) for i in merged.warnings),
        stages=tuple((name, len(r.errors)) for name, r in results),
    )


def _first_lines(text: str, n: int = 6) -> str:
    return "\n".join(line for line in text.splitlines()[:n] if line.strip())
