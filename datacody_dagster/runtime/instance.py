"""Moved to :mod:`datacody_dagster.instance` (checks and versioning read the event log too)."""

from datacody_dagster.instance import DAGSTER_YAML as DAGSTER_YAML
from datacody_dagster.instance import dagster_home_path as dagster_home_path
from datacody_dagster.instance import ensure_instance_home as ensure_instance_home
from datacody_dagster.instance import project_dagster_home as project_dagster_home
from datacody_dagster.instance import project_instance as project_instance
