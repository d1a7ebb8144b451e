"""People's verdicts on check results (`datacody feedback`), kept in the Dagster event log.

A verdict is an ``AssetObservation`` on the asset with ``datacody/feedback`` metadata: which
check, which run, and how far each statistic was from its learned baseline in that run (the
``deviations`` of the check's own metadata). Calibrated checks read it back: a false alarm's run
stays in the baseline (it is no incident) and its deviations widen the band; the optimizer
proposes demoting or retuning checks with repeated false alarms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from datacody_dagster.checks.verdicts import check_verdicts
from datacody_dagster.errors import DatacodyError, Diagnostic

FEEDBACK_KEY = "datacody/feedback"
Verdict = Literal["false_alarm", "confirmed"]


@dataclass(frozen=True)
class Feedback:
    """One recorded verdict on one evaluation of a check."""

    asset: str
    check: str
    verdict: Verdict
    run_id: str
    deviations: dict[str, float]
    timestamp: float

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "verdict": self.verdict,
            "run_id": self.run_id,
            "deviations": self.deviations,
            "timestamp": self.timestamp,
        }


def record_feedback(
    instance: Any, asset: str, check: str, verdict: Verdict = "false_alarm", run_id: str | None = None
) -> Feedback:
    """Record ``verdict`` on ``check``'s evaluation in ``run_id`` (default: its latest failure)."""
    import dagster as dg

    verdicts = check_verdicts(instance, asset, check, limit=200)
    if run_id is not None:
        chosen = next((v for v in verdicts if v.run_id == run_id), None)
        missing = f"no evaluation of {asset}.{check} in run {run_id}"
    else:
        chosen = next((v for v in verdicts if not v.passed), None)
        missing = f"no failed evaluation of {asset}.{check} to give feedback on"
    if chosen is None:
        raise DatacodyError(
            Diagnostic(
                "DC300",
                missing,
                None,
                "run `datacody materialize` or `datacody check` first; "
                "`--run RUN_ID` picks an evaluation (run ids are in the Dagster UI)",
            )
        )
    raw = chosen.metadata.get("deviations")
    deviations = {str(k): float(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    item = Feedback(asset, check, verdict, chosen.run_id, deviations, time.time())
    instance.report_runless_asset_event(
        dg.AssetObservation(
            dg.AssetKey([asset]),
            metadata={FEEDBACK_KEY: dg.MetadataValue.json(item.as_json())},
        )
    )
    return item


def read_feedback(instance: Any, asset: str, limit: int = 500) -> list[Feedback]:
    """Every recorded verdict on ``asset``'s checks, newest first."""
    from dagster import AssetKey

    out = []
    for rec in instance.fetch_observations(AssetKey([asset]), limit=limit).records:
        obs = rec.asset_observation
        value = (obs.metadata or {}).get(FEEDBACK_KEY) if obs is not None else None
        data = getattr(value, "value", value)
        if not isinstance(data, dict) or "check" not in data:
            continue
        out.append(
            Feedback(
                asset=asset,
                check=str(data["check"]),
                verdict=data.get("verdict", "false_alarm"),
                run_id=str(data.get("run_id") or ""),
                deviations={str(k): float(v) for k, v in (data.get("deviations") or {}).items()},
                timestamp=float(data.get("timestamp") or rec.timestamp),
            )
        )
    return out
