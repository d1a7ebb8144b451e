"""DC108: `schedule:` and `automation: {on_cron}` are valid 5-field cron expressions."""

from __future__ import annotations

import re

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel, OnCron, SourceSpec

_FIELD = r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*"
_NAMES = r"[A-Za-z]{3}(-[A-Za-z]{3})?(,[A-Za-z]{3}(-[A-Za-z]{3})?)*"
_CRON = re.compile(rf"^({_FIELD})\s+({_FIELD})\s+({_FIELD})\s+({_FIELD}|{_NAMES})\s+({_FIELD}|{_NAMES})$")
_MACROS = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight"}


def is_valid_cron(expr: str) -> bool:
    expr = expr.strip()
    return expr in _MACROS or bool(_CRON.match(expr))


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
            if not is_valid_cron(cron):
                loc = entry.location(*key)
                diags.append(
                    Diagnostic(
                        errors.INVALID_SCHEDULE,
                        f"asset `{entry.name}`: `{cron}` is not a cron expression",
                        loc,
                        "use five fields (minute hour day month weekday), e.g. '0 6 * * *'",
                    )
                )
    return diags
