"""The input data versions a prod materialization records, when an upstream's latest build is an env's.

Dagster tags each materialization with the data version of every upstream's latest
materialization (``dagster/input_data_version/<dep>``). After `plan --env`, that latest one can
be an environment's candidate, which prod never read: recorded as prod's input, the asset would
look stale to prod's next run forever after. These tags name prod's own latest build instead
(output tags take precedence over the ones Dagster computes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datacody_dagster.checks.env_builds import is_env_materialization, prod_materializations
from datacody_dagster.compiler.plan import Node
from datacody_dagster.run_markers import ENV_TAG

if TYPE_CHECKING:
    import dagster as dg


_ENV_RUNS_EXIST: dict[str, bool] = {}  # per prod run: reading latest records costs ~7 CPU-ms an asset


def _env_runs_exist(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> bool:
    """Whether any environment build ever ran in this instance (asked once per run)."""
    run_id = context.run_id
    if run_id not in _ENV_RUNS_EXIST:
        if len(_ENV_RUNS_EXIST) > 64:
            _ENV_RUNS_EXIST.clear()
        _ENV_RUNS_EXIST[run_id] = bool(context.instance.get_run_tags(tag_keys=[ENV_TAG]))
    return _ENV_RUNS_EXIST[run_id]


def prod_input_tags(context: dg.AssetExecutionContext | dg.OpExecutionContext, node: Node) -> dict[str, str]:
    """Tags naming prod's own latest build of each upstream of ``node`` an env build hides (upstreams
    materialized in this same step are left to Dagster: their new record is prod's)."""
    import dagster as dg
    from dagster._core.definitions.data_version import (
        get_input_data_version_tag,
        get_input_event_pointer_tag,
    )

    in_step = set(getattr(context, "selected_asset_keys", None) or ())
    keys = [dg.AssetKey([d]) for d in node.deps if dg.AssetKey([d]) not in in_step]
    if not keys or not _env_runs_exist(context):
        return {}
    latest = context.instance.get_latest_materialization_events(keys)
    tags: dict[str, str] = {}
    for key, entry in latest.items():
        mat = entry.asset_materialization if entry is not None else None
        if mat is None or not is_env_materialization(mat.metadata):
            continue
        found = prod_materializations(context.instance, key, 1)
        prod = found[0] if found else None
        version = (prod.asset_materialization.tags or {}).get("dagster/data_version") if prod else None
        if prod is None or version is None:
            continue  # never built by prod: nothing truer to record than Dagster's own tag
        tags[get_input_data_version_tag(key)] = version
        tags[get_input_event_pointer_tag(key)] = str(prod.storage_id)
    return tags
