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
from datacody_dagster.runtime.run_worker import multiprocess_executor_for
from datacody_dagster.runtime.step_fork import launched_run_worker
from datacody_dagster.semantic.export import produce_export


def run_executor(project: CompiledProject) -> dg.ExecutorDefinition:
    """Multiprocess (for runs launched by the code location; headless runs go in process), with
    at most one writer of the DuckDB file at a time."""
    # One writer per DuckDB file: dbt steps carry the writer tag and never run two at once.
    # The multiprocess executor plus the run worker's pid tags (runtime/run_worker.py). Steps
    # are forked from the run worker, which has imported and built what they need (Linux), or
    # from a forkserver that does it once per run: a spawned step process paid 8-25 s of imports
    # on 2 cores (UI "Materialize all" took 2.9x the CLI; 2.2x from the forkserver).
    return multiprocess_executor_for(project).configured(
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
    if any(n.runs_in_dbt for n in project.plan.nodes) and launched_run_worker():
        # A UI run's worker builds these to run them: dbt starts importing on the other core
        # now, not when the run's first step starts (the executor adopts or stops it).
        from datacody_dagster.runtime.dbt_worker import start_early

        start_early()
    return dg.Definitions(
        assets=build_assets(project, export_producer=produce_export),
        executor=run_executor(project),
        resources=project_resources(project),
    )
