"""The code location: loads from the YAML plan without dbt, with everything the UI shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from datacody_dagster.definitions import build_definitions
from tests.conftest import REPO


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(REPO)


def test_load_does_not_run_dbt(tmp_path: Path) -> None:
    """Loading never parses the dbt project: no dbt import, no target/ written."""
    code = (
        "import sys; from datacody_dagster.definitions import build_definitions;"
        f"d = build_definitions({str(REPO)!r});"
        "d.resolve_asset_graph();"
        "print(any(m == 'dbt' or m.startswith('dbt.') for m in sys.modules))"
    )
    before = set((REPO / "dbt_project").glob("target/*manifest*"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert set((REPO / "dbt_project").glob("target/*manifest*")) == before


def test_specs_carry_groups_owners_kinds_code_versions_and_references(defs: dg.Definitions) -> None:
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    assert {"raw_flights", "stg_flights", "daily_delay_by_carrier", "carrier_fleet"} <= set(specs)
    daily = specs["daily_delay_by_carrier"]
    assert daily.group_name == "marts"
    assert daily.owners == ["team:analytics"]
    assert daily.description and "delay" in daily.description
    assert {"dbt", "duckdb"} <= set(daily.kinds)
    assert daily.code_version and len(daily.code_version) == 16
    assert {d.asset_key.to_user_string() for d in daily.deps} == {"stg_flights", "stg_airlines"}
    refs = daily.metadata["dagster/code_references"].code_references
    assert refs[0].file_path.endswith("asset_specs/marts.yaml") and refs[0].line_number > 1
    assert specs["raw_flights"].group_name == "flights"
    assert "python" in specs["carrier_fleet"].kinds


def test_checks_are_declared_with_severity(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = {f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys}
    assert "stg_flights:accepted_values_origin" in keys
    assert "daily_delay_by_carrier:unique_flight_date__carrier" in keys
    spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey("stg_airports"), "range_lon"))
    assert spec.blocking is False and "severity warn" in (spec.description or "")
    spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey("stg_airports"), "unique_faa"))
    assert spec.blocking is True


def test_schedule_and_automation(defs: dg.Definitions) -> None:
    schedule = defs.get_schedule_def("daily_delay_by_carrier_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    assert specs["route_performance"].automation_condition is not None


def test_string_asset_selection_parses_in_installed_env(defs: dg.Definitions) -> None:
    """dvc pins antlr4 4.9 through hydra; dagster's selection grammar needs 4.13 (DESIGN.md)."""
    keys = dg.AssetSelection.from_string("group:flights").resolve(defs.resolve_asset_graph())
    names = {k.to_user_string() for k in keys}
    assert "stg_flights" in names and "daily_delay_by_carrier" not in names
    down = dg.AssetSelection.from_string("stg_airlines+").resolve(defs.resolve_asset_graph())
    assert {k.to_user_string() for k in down} == {"stg_airlines", "daily_delay_by_carrier"}


def test_dagster_definitions_validate_passes() -> None:
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "All code locations passed validation" in proc.stderr + proc.stdout


def test_component_is_registered_with_dg() -> None:
    dg_bin = Path(sys.executable).parent / "dg"
    proc = subprocess.run([str(dg_bin), "list", "components", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    keys = {item["key"] for item in json.loads(proc.stdout)["items"]}
    assert "datacody_dagster.component.DatacodyProject" in keys


def test_component_builds_the_project_definitions(tmp_path: Path) -> None:
    from datacody_dagster.component import DatacodyProject

    comp = DatacodyProject(project_dir=str(REPO))
    context = dg.ComponentLoadContext.for_test() if hasattr(dg.ComponentLoadContext, "for_test") else None
    built = comp.build_defs(context)  # type: ignore[arg-type]
    assert any(s.key.to_user_string() == "stg_flights" for s in built.resolve_all_asset_specs())


def test_json_schema_validates_example_specs_and_rejects_typos(tmp_path: Path) -> None:
    import jsonschema
    from ruamel.yaml import YAML

    datacody = Path(sys.executable).parent / "datacody"
    out = subprocess.run([str(datacody), "schema"], capture_output=True, text=True, check=True)
    schema = json.loads(out.stdout)
    yaml = YAML(typ="safe")
    for spec in (REPO / "asset_specs").glob("*.yaml"):
        jsonschema.validate(yaml.load(spec.read_text()), schema)
    bad = {"assets": {"a": {"sql": "select 1", "materialzed": "view"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert "description" in schema["$defs"]["AssetSpecModel"]["properties"]["sql"]
