"""Delivery: an optimizer sensor and a daily review schedule. Neither materializes anything.

The sensor evaluates the heuristic rules every few minutes; each new proposal becomes an
AssetObservation on its asset (returned as ``SensorResult(asset_events=...)``) and a file in
``proposals/``. The review schedule runs a one-op job that does the same with the LLM review
when an LLM is configured and online. Applying a proposal is always a person's decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dagster as dg

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.instance import migrate_instance
from datacody_dagster.optimizer.observations import proposal_observation
from datacody_dagster.optimizer.service import evaluate, record_new
from datacody_dagster.optimizer.signals import default_asset_key
from datacody_dagster.resources.llm import LlmResource

SENSOR_NAME = "datacody_optimizer"
REVIEW_JOB_NAME = "datacody_optimizer_review"
REVIEW_SCHEDULE_NAME = "datacody_optimizer_daily_review"


def optimizer_definitions(
    project: CompiledProject,
    *,
    minimum_interval_seconds: int | None = None,
    review_cron: str | None = None,
    llm: LlmResource | None = None,
    asset_key: Callable[[str], dg.AssetKey] = default_asset_key,
) -> tuple[list[dg.SensorDefinition], list[dg.ScheduleDefinition]]:
    """The optimizer sensor and the daily review schedule for ``project``.

    Defaults come from `optimizer:` in resources/<env>.yaml (``minimum_interval_seconds``,
    default 300; ``review_cron``, default ``0 7 * * *``). The LLM defaults to `llm:` there.
    """
    opts = project.settings.optimizer
    interval = int(minimum_interval_seconds or opts.get("minimum_interval_seconds", 300))
    cron = review_cron or str(opts.get("review_cron", "0 7 * * *"))
    reviewer = llm or LlmResource.from_settings(project.settings.llm)

    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Evaluates the optimizer's heuristic rules; records new proposals as observations.",
    )
    def optimizer_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        # the instance this sensor reads may be one no CLI or code-location load has migrated
        migrate_instance(context.instance, context.log.warning)
        new = record_new(project, evaluate(project, context.instance, asset_key=asset_key))
        if not new:
            return dg.SkipReason("no new proposal")
        context.log.info(f"{len(new)} new optimizer proposal(s): {', '.join(p.id for p in new)}")
        return dg.SensorResult(asset_events=[proposal_observation(p, asset_key) for p in new])

    @dg.op(name="datacody_optimizer_review_op", out={})
    def review_op(context) -> Iterator[dg.AssetObservation]:  # type: ignore[no-untyped-def]
        # Unannotated: Dagster rejects the string annotation `from __future__` would make of it.
        proposals = evaluate(project, context.instance, llm=reviewer, asset_key=asset_key)
        new = record_new(project, proposals)
        context.log.info(
            f"optimizer review ({reviewer.status()}): {len(proposals)} proposal(s), {len(new)} new"
        )
        for p in new:
            yield proposal_observation(p, asset_key)

    @dg.job(name=REVIEW_JOB_NAME, description="Daily optimizer review (heuristics + LLM when online).")
    def review_job() -> None:
        review_op()

    schedule = dg.ScheduleDefinition(
        name=REVIEW_SCHEDULE_NAME,
        job=review_job,
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return [optimizer_sensor], [schedule]
