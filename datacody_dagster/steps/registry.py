"""``STEPS``: every step kind and its runners, one module per kind."""

from __future__ import annotations

from datacody_dagster.steps import augment, code_quality, dedup, filter, output, scan
from datacody_dagster.steps.base import StepKind

STEPS: dict[str, StepKind] = {
    s.kind: s
    for s in (filter.STEP, code_quality.STEP, dedup.STEP, scan.SECRETS, scan.PII, output.STEP, augment.STEP)
}
