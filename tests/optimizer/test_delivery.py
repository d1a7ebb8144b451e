"""Delivery: the optimizer sensor and the daily review job record proposals without launching runs."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from datacody_dagster.compiler import compile_project
from datacody_dagster.optimizer.dagster_defs import (
    REVIEW_JOB_NAME,
    SENSOR_NAME,
    optimizer_definitions,
)


def test_sensor_records_new_proposals_as_observations_once(planted: Path, dagster_home: Path) -> None:
    project = compile_project(planted)
    [sensor], [schedule] = optimizer_definitions(project)
    assert sensor.name == SENSOR_NAME and sensor.minimum_interval_seconds == 300
    assert schedule.job_name == REVIEW_JOB_NAME
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        result = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(result, dg.SensorResult)
        assert not result.run_requests  # it never launches runs
        events = result.asset_events
        assert events and all(isinstance(e, dg.AssetObservation) for e in events)
        by_asset = {e.asset_key.to_user_string(): e for e in events}
        assert {"stg_customers", "customer_names_copy", "country_summary", "events_enriched"} <= set(by_asset)
        meta = by_asset["stg_customers"].metadata
        assert meta["datacody/rule"].value == "view_read_by_many"
        assert meta["datacody/patch"].value == {"op": "set_materialization", "materialized": "table"}
        assert meta["datacody/evidence"].value["downstream_readers"] == 4
        pid = meta["datacody/proposal_id"].value
        stored = json.loads((planted / "proposals" / f"{pid}.json").read_text())
        assert stored["status"] == "open"
        # a second tick finds nothing new
        again = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(again, dg.SkipReason)


def test_review_job_yields_observations_into_the_event_log(planted: Path, dagster_home: Path) -> None:
    project = compile_project(planted)
    _, [schedule] = optimizer_definitions(project, minimum_interval_seconds=60)
    job = schedule.job
    assert isinstance(job, dg.JobDefinition)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert job.execute_in_process(instance=instance).success
        records = instance.fetch_observations(dg.AssetKey(["country_summary"]), limit=5).records
        assert records
        obs = records[0].asset_observation
        assert obs is not None and obs.metadata["datacody/rule"].value == "schedule_more_frequent_than_data"
        assert (
            not instance.fetch_materializations(dg.AssetKey(["country_summary"]), limit=10).records[0].run_id
        )


def test_sensor_interval_is_configurable(planted: Path) -> None:
    settings = planted / "resources" / "dev.yaml"
    settings.write_text(settings.read_text() + "optimizer:\n  minimum_interval_seconds: 45\n")
    [sensor], _ = optimizer_definitions(compile_project(planted))
    assert sensor.minimum_interval_seconds == 45
