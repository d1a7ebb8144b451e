"""The code location: `dagster dev -w workspace.yaml` loads `defs` from here.

Wiring only: the plan comes from the YAML specs (no `dbt parse` at load time), assets and
checks from runtime/assets.py, schedules from the plan, the optimizer's sensor and schedule.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from datacody_dagster.compiler import CompiledProject, compile_project
from datacody_dagster.emit.dagster import WRITER_TAG, schedules_for
from datacody_dagster.optimizer.dagster_defs import optimizer_definitions
from datacody_dagster.runtime.assets import build_assets
from datacody_dagster.runtime.run_worker import datacody_multiprocess_executor

# Imported once per run by the forkserver; a module missing here is skipped by multiprocessing.
STEP_PRELOAD = (
    "dagster",
    "datacody_dagster.definitions",
    "datacody_dagster.runtime.dbt_runner",
    "duckdb",
    "pyarrow.parquet",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dvc.repo",
)


def _executor() -> dg.ExecutorDefinition:
    # One writer per DuckDB file: dbt steps carry the writer tag and never run two at once.
    # The multiprocess executor plus the run worker's pid tags (runtime/run_worker.py).
    # Steps fork from a server that imported the heavy modules once per run: a spawned step
    # process paid 8-25 s of imports on 2 cores (UI "Materialize all" took 2.9x the CLI).
    return datacody_multiprocess_executor.configured(
        {
            "max_concurrent": 4,
            "tag_concurrency_limits": [{"key": WRITER_TAG, "value": "duckdb", "limit": 1}],
            "start_method": {"forkserver": {"preload_modules": list(STEP_PRELOAD)}},
        }
    )


def build_definitions(project: CompiledProject | Path | str) -> dg.Definitions:
    """Definitions for a project (a compiled one, or its root folder)."""
    if not isinstance(project, CompiledProject):
        project = compile_project(project)
    sensors: list[dg.SensorDefinition] = []
    schedules = schedules_for(project)
    opt_sensors, opt_schedules = optimizer_definitions(project)
    sensors.extend(opt_sensors)
    schedules.extend(opt_schedules)
    return dg.Definitions(
        assets=build_assets(project),
        schedules=schedules,
        sensors=sensors,
        executor=_executor(),
        resources=_resources(project),
    )


def _resources(project: CompiledProject) -> dict[str, object]:
    """The ``spark`` resource (dagster-pyspark) when an asset runs on Spark, from ``spark:`` in
    resources/<env>.yaml; pyspark is not imported for DuckDB-only projects."""
    from datacody_dagster.runtime.assets import uses_spark

    if not any(uses_spark(n) for n in project.plan.nodes):
        return {}
    from datacody_dagster.engines.spark_resource import SparkResource

    return {"spark": SparkResource.from_settings(project.settings.spark, project.root)}


def project_root() -> Path:
    """The project this code location serves: $DATACODY_PROJECT_DIR or the working dir."""
    return Path(os.environ.get("DATACODY_PROJECT_DIR", os.getcwd())).resolve()


def __getattr__(name: str) -> object:
    # Build lazily so that importing the package (e.g. from the CLI) does not compile.
    if name == "defs":
        value = build_definitions(project_root())
        globals()["defs"] = value
        return value
    raise AttributeError(name)
