"""The code location: `dagster dev -w workspace.yaml` loads `defs` from here.

Wiring only: the plan comes from the YAML specs (no `dbt parse` at load time), assets and
checks
(with executor and resources) from runtime/code_location.py, schedules from the plan, the
optimizer's sensor and schedule.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from datacody_dagster.compiler import CompiledProject, compile_project
from datacody_dagster.emit.dagster import schedules_for
from datacody_dagster.instance import migrate_served_instance
from datacody_dagster.optimizer.dagster_defs import optimizer_definitions
from datacody_dagster.runtime.code_location import run_definitions


def build_definitions(project: CompiledProject | Path | str) -> dg.Definitions:
    """Definitions for a project (a compiled one, or its root folder)."""
    migrate_served_instance()  # a code server's first load on an instance no CLI opened yet
    if not isinstance(project, CompiledProject):
        project = compile_project(project)
    sensors: list[dg.SensorDefinition] = []
    schedules = schedules_for(project)
    opt_sensors, opt_schedules = optimizer_definitions(project)
    sensors.extend(opt_sensors)
    schedules.extend(opt_schedules)
    return dg.Definitions.merge(
        run_definitions(project), dg.Definitions(schedules=schedules, sensors=sensors)
    )


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
