"""What Dagster's GraphQL API (the UI's) shows for an environment's own asset keys: prod's code
location defines no ``env/NAME/*`` asset, so the env's records are shown as an asset without a
definition, its check results as executions of a check prod's location does not define (no
error state), and prod's asset shows only prod's own records (a real instance and code location
served out of process, as `dagster dev` does)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tests.envs.helpers import edit
from tests.envs.test_lifecycle import AMOUNT, cli, prod_template, proj

__all__ = ["prod_template", "proj"]

QUERY = """
query ($env: [String!]!, $prod: [String!]!) {
  envAsset: assetOrError(assetKey: {path: $env}) {
    __typename
    ... on Asset { definition { id } assetMaterializations(limit: 1) { runId } }
  }
  envNode: assetNodeOrError(assetKey: {path: $env}) { __typename }
  envChecks: assetCheckExecutions(assetKey: {path: $env}, checkName: "unique_order_id", limit: 5) {
    runId status
  }
  prodNode: assetNodeOrError(assetKey: {path: $prod}) {
    __typename
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks { checks { name executionForLatestMaterialization { runId status } } }
      }
    }
  }
  prodChecks: assetCheckExecutions(assetKey: {path: $prod}, checkName: "unique_order_id", limit: 5) { runId }
}
"""


def test_an_env_key_in_graphql_is_an_asset_without_definition_not_an_error(
    proj: Path, tmp_path: Path
) -> None:
    import dagster as dg
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    from datacody_dagster.instance import project_instance
    from datacody_dagster.run_markers import ENV_TAG

    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    instance = project_instance(proj)
    (env_run,) = [r.run_id for r in instance.get_runs(dg.RunsFilter(tags={ENV_TAG: "dev"}))]
    prod_runs = {r.run_id for r in instance.get_runs()} - {env_run}
    defs_file = tmp_path / "defs.py"
    defs_file.write_text(
        textwrap.dedent(f"""
        from datacody_dagster.definitions import build_definitions
        defs = build_definitions({str(proj)!r})
        """),
        encoding="utf-8",
    )
    with define_out_of_process_context(str(defs_file), "defs", instance) as context:
        result = execute_dagster_graphql(
            context, QUERY, variables={"env": ["env", "dev", "orders"], "prod": ["orders"]}
        )
    assert not result.errors, result.errors
    data: dict[str, Any] = result.data
    # the env's key: an asset with records and no definition (the UI lists it without a graph node)
    assert data["envAsset"]["__typename"] == "Asset"
    assert data["envAsset"]["definition"] is None
    assert [m["runId"] for m in data["envAsset"]["assetMaterializations"]] == [env_run]
    assert data["envNode"]["__typename"] == "AssetNotFoundError"
    # its check results are readable executions, not an error
    assert [(e["runId"], e["status"]) for e in data["envChecks"]] == [(env_run, "SUCCEEDED")]
    # prod's asset and checks show prod's runs only
    assert data["prodNode"]["__typename"] == "AssetNode"
    (check,) = data["prodNode"]["assetChecksOrError"]["checks"]
    assert check["name"] == "unique_order_id"
    assert check["executionForLatestMaterialization"]["runId"] in prod_runs
    assert {e["runId"] for e in data["prodChecks"]} <= prod_runs
