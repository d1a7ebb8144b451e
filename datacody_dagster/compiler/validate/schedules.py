"""DC108: `schedule:` and `automation: {on_cron}` are cron expressions Dagster accepts."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.cron import FIELDS_HINT, cron_problem
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel, OnCron


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags = []
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel):
            continue
        crons: list[tuple[str, str]] = []
        if spec.schedule:
            crons.append(("schedule", spec.schedule))
        if isinstance(spec.automation, OnCron):
            crons.append(("automation", spec.automation.on_cron))
        for key, cron in crons:
            problem = cron_problem(cron)
            if problem is not None:
                diags.append(
                    Diagnostic(
                        errors.INVALID_SCHEDULE,
                        f"asset `{entry.name}`: `{cron}` is not a cron expression Dagster accepts: {problem}",
                        entry.location(key),
                        FIELDS_HINT,
                    )
                )
    return diags
