"""What a run executes: a project's assets (with their checks), executor and resources.

The code location (definitions.py) serves these plus schedules and sensors; headless
materialize runs exactly these, so both see the same assets without the runtime importing the
layer above it. New kinds of assets are added here, not in definitions.py.
"""

from __future__ import annotations

import dagster as dg

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.emit.dagster import WRITER_TAG
from datacody_dagster.runtime.assets import build_assets, uses_spark
from datacody_dagster.semantic.export import produce_export


def run_executor() -> dg.ExecutorDefinition:
    """Multiprocess, with at most one writer of the DuckDB file at a time."""
    # One writer per DuckDB file: dbt steps carry the writer tag and never run two at once.
    return dg.multiprocess_executor.configured(
        {
            "max_concurrent": 4,
            "tag_concurrency_limits": [{"key": WRITER_TAG, "value": "duckdb", "limit": 1}],
        }
    )


def project_resources(project: CompiledProject) -> dict[str, object]:
    """The ``spark`` resource (dagster-pyspark) when an asset runs on Spark, from ``spark:`` in
    resources/<env>.yaml; pyspark is not imported for DuckDB-only projects."""
    if not any(uses_spark(n) for n in project.plan.nodes):
        return {}
    from datacody_dagster.engines.spark_resource import SparkResource

    return {"spark": SparkResource.from_settings(project.settings.spark, project.root)}


def run_definitions(project: CompiledProject) -> dg.Definitions:
    """Assets, checks, executor and resources of ``project`` (no schedules or sensors)."""
    return dg.Definitions(
        assets=build_assets(project, export_producer=produce_export),
        executor=run_executor(),
        resources=project_resources(project),
    )
