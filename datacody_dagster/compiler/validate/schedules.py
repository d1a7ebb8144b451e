"""DC108: `schedule:` and `automation: {on_cron}` are cron expressions Dagster accepts."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.cron import FIELDS_HINT, cron_problem
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel, OnCron, SourceSpec


def _check_crons(spec: AssetSpecModel | SourceSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """`schedule:` of check entries, keyed by their path in the asset's mapping."""
    found: list[tuple[tuple[str | int, ...], str]] = [
        (("checks", i), c.schedule) for i, c in enumerate(spec.checks) if c.schedule
    ]
    for col, contract in (spec.columns or {}).items():
        found += [(("columns", col), c.schedule) for c in contract.checks if c.schedule]
    return found


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags = []
    for entry in index.entries:
        spec = entry.spec
        crons = _check_crons(spec)
        if isinstance(spec, AssetSpecModel) and spec.schedule:
            crons.append((("schedule",), spec.schedule))
        if isinstance(spec, AssetSpecModel) and isinstance(spec.automation, OnCron):
            crons.append((("automation",), spec.automation.on_cron))
        for key, cron in crons:
            problem = cron_problem(cron)
            if problem is not None:
                diags.append(
                    Diagnostic(
                        errors.INVALID_SCHEDULE,
                        f"asset `{entry.name}`: `{cron}` is not a cron expression Dagster accepts: {problem}",
                        entry.location(*key),
                        FIELDS_HINT,
                    )
                )
    return diags
