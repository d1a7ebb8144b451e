"""Markers that tell an environment build (`datacody plan --env NAME`) from prod in Dagster's
event log. They live in the bottom layer because emit (asset keys), instance, checks, versioning
and runtime all read them."""

ENV_BUILD_KEY = "datacody/env_build"
"""Materialization metadata naming the environment an output was built in (`plan --env`), a label
on the environment's own asset key (``apply`` finds the build it promotes by it)."""

ENV_TAG = "datacody/env"
"""Run tag naming the environment a run built (`plan --env`)."""

ENV_KEY_PREFIX = "env"
"""First part of the asset keys an environment build records on: ``env/NAME/<asset>``. Prod's keys
have one part (the asset's name), so no environment key is ever one of prod's."""


def env_key_path(env: str, name: str) -> list[str]:
    """The asset key path of asset ``name`` as built in environment ``env``."""
    return [ENV_KEY_PREFIX, env, name]
