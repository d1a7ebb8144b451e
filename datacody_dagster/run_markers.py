"""Markers that tell an environment build (`datacody plan --env NAME`) from prod in Dagster's
event log. They live in the bottom layer because emit (automation conditions), instance, checks,
versioning and runtime all read them."""

ENV_BUILD_KEY = "datacody/env_build"
"""Materialization metadata naming the environment an output was built in (`plan --env`): such
a materialization is no version of prod and no baseline for its checks (`apply`'s promotion
event is, with ``datacody/env``)."""

ENV_TAG = "datacody/env"
"""Run tag naming the environment a run built (`plan --env`): its check evaluations are the
environment's, never prod's verdicts."""
