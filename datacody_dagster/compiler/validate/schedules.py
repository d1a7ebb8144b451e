"""DC108: `schedule:` and `automation: {on_cron}` are valid 5-field cron expressions."""

from __future__ import annotations

import re

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel, OnCron

_FIELD = r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*"
_NAMES = r"[A-Za-z]{3}(-[A-Za-z]{3})?(,[A-Za-z]{3}(-[A-Za-z]{3})?)*"
_CRON = re.compile(rf"^({_FIELD})\s+({_FIELD})\s+({_FIELD})\s+({_FIELD}|{_NAMES})\s+({_FIELD}|{_NAMES})$")
_MACROS = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight"}


def is_valid_cron(expr: str) -> bool:
    expr = expr.strip()
    return expr in _MACROS or bool(_CRON.match(expr))


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
            if not is_valid_cron(cron):
                loc = entry.location(key)
                diags.append(
                    Diagnostic(
                        errors.INVALID_SCHEDULE,
                        f"asset `{entry.name}`: `{cron}` is not a cron expression",
                        loc,
                        "use five fields (minute hour day month weekday), e.g. '0 6 * * *'",
                    )
                )
    return diags
