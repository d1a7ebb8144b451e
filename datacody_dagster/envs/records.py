"""An environment's records in Dagster: the materializations and check results its builds made
on its own asset keys (``env/NAME/<asset>``, ``emit/dagster.py`` ``run_key``).

They describe the environment's outputs, so they go when those go: a re-plan removes the env's
outputs before building again, and ``env delete`` removes the env; without this the UI would go
on showing an asset the environment no longer holds (or an environment that no longer exists).
Prod's keys have one part and are never touched.
"""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.run_markers import ENV_KEY_PREFIX


def wipe_env_records(root: Path, env: str) -> list[str]:
    """Wipe the Dagster records of environment ``env`` (asset keys ``env/<env>/...``); returns the
    wiped keys. Nothing is opened when the project has no Dagster instance yet."""
    from datacody_dagster.instance import dagster_home_path

    if not dagster_home_path(root).is_dir():
        return []
    from datacody_dagster.instance import project_instance

    instance = project_instance(root)
    keys = [k for k in instance.get_asset_keys(prefix=[ENV_KEY_PREFIX, env]) if len(k.path) == 3]
    if keys:
        instance.wipe_assets(keys)
    return sorted(k.to_user_string() for k in keys)
