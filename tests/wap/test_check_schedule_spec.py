"""`schedule:` on a check entry: validated with its location, compiled into a checks-only schedule."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_project

SPEC = """\
group: g
sources:
  raw:
    path: data/raw/x.csv
    checks:
      - {not_null: [id], schedule: "%s"}
"""


def test_check_schedule_is_validated_with_its_location(tmp_path: Path) -> None:
    from datacody_dagster.compiler import diagnose

    root = write_project(tmp_path, {"g.yaml": SPEC % "every hour"}, {"data/raw/x.csv": "id\n1\n"}, dvc=False)
    _, diags = diagnose(root)
    bad = [d for d in diags if "every hour" in d.message]
    assert bad and str(bad[0].location).startswith("asset_specs/g.yaml:6")


def test_check_schedule_targets_only_its_checks(tmp_path: Path) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.emit.dagster import schedules_for

    root = write_project(
        tmp_path, {"g.yaml": SPEC % "*/15 * * * *"}, {"data/raw/x.csv": "id\n1\n"}, dvc=False
    )
    (schedule,) = schedules_for(compile_project(root))
    assert schedule.name == "raw__not_null_id_check_schedule"
    assert schedule.cron_schedule == "*/15 * * * *"
    # what it runs (the checks alone) is exercised in test_write_audit_publish.py
