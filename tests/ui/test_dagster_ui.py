"""The Dagster UI as a person uses it: graph, a materialization launched from the UI, checks, proposals.

The tests run in file order against one `dagster dev`: the checks test reads the run that the
materialization test launched.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from tests.ui.conftest import PLANTED_CHECK, PLANTED_VIEW, DagsterUI, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOCATION = "datacody_dagster.definitions:defs"
RUN_TIMEOUT_S = 420
FLIGHTS = [
    "raw_flights",
    "raw_airlines",
    "raw_airports",
    "raw_planes",
    "raw_weather",
    "stg_flights",
    "stg_airlines",
    "stg_airports",
    "stg_planes",
]
MARTS = ["daily_delay_by_carrier", "route_performance", "carrier_fleet"]
EXPANDED = "global@global:flights,global@global:marts"


def goto(page, path: str, ready: str) -> None:  # type: ignore[no-untyped-def]
    """Open a UI path, wait for `ready` text, and dismiss the one-time community dialog."""
    page.goto(path, wait_until="domcontentloaded")
    wait_for_text(page, ready)
    dismiss_dialogs(page)


def dismiss_dialogs(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(800)
    skip = page.get_by_role("button", name="Skip", exact=True)
    if skip.count() and skip.first.is_visible():
        skip.first.click()
        page.wait_for_timeout(300)


def wait_for_text(page, text: str, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    page.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=timeout_s * 1000)


def _runs(ui: DagsterUI) -> list[dict]:  # type: ignore[type-arg]
    data = ui.graphql(
        "{ runsOrError(limit: 20) { ... on Runs { results { runId status assetSelection { path } } } } }"
    )
    return data["runsOrError"]["results"]


def test_asset_graph_shows_groups_assets_descriptions_and_owners(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    # The global lineage with both groups expanded: every asset and the edges between groups.
    page.set_viewport_size({"width": 1440, "height": 1100})
    goto(page, "/asset-groups?expanded=" + quote(EXPANDED), "Global asset lineage")
    for name in FLIGHTS + MARTS:
        wait_for_text(page, name)
    page.get_by_role("button", name="Materialize all").wait_for()
    page.wait_for_timeout(1500)
    screenshot(page, "01-asset-graph", docs=True)

    goto(page, f"/locations/{LOCATION}/asset-groups/flights", "raw_flights")
    for name in FLIGHTS:
        wait_for_text(page, name)
    screenshot(page, "02-group-flights")

    # The catalog lists every asset of both groups with its description.
    page.set_viewport_size({"width": 1440, "height": 1600})  # the catalog renders visible rows only
    goto(page, "/assets", "raw_flights")
    wait_for_text(page, "route_performance")
    body = page.inner_text("body")
    for name in FLIGHTS + MARTS:
        assert name in body
    assert "Every flight departing NYC in 2013" in body
    assert "Average and 90th-percentile departure delay per carrier and day" in body
    assert "corpus" not in body
    screenshot(page, "03-catalog")

    # Owners come from the spec files (team:data-platform, team:analytics).
    page.set_viewport_size({"width": 1440, "height": 1000})
    goto(page, "/assets/stg_airlines", "Owners")
    wait_for_text(page, "data-platform")
    assert "Airline names by carrier code" in page.inner_text("body")
    goto(page, "/assets/daily_delay_by_carrier", "Owners")
    wait_for_text(page, "analytics")
    screenshot(page, "04-asset-definition")


def test_materialize_group_from_ui_then_asset_page_shows_metadata(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    before = {r["runId"] for r in _runs(dagster_ui)}
    goto(page, f"/locations/{LOCATION}/asset-groups/marts", "route_performance")
    page.get_by_role("button", name="Materialize all").click()
    # Dagster confirms with a toast linking to the run; the run itself is checked over GraphQL.
    deadline = time.monotonic() + RUN_TIMEOUT_S
    run: dict | None = None  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        new = [r for r in _runs(dagster_ui) if r["runId"] not in before]
        mine = [r for r in new if {"route_performance"} <= {p["path"][-1] for p in r["assetSelection"] or []}]
        if mine and mine[0]["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
            run = mine[0]
            break
        time.sleep(2)
    assert run is not None, f"no finished marts run within {RUN_TIMEOUT_S}s"
    goto(page, f"/runs/{run['runId']}", "route_performance")
    wait_for_text(page, "Success" if run["status"] == "SUCCESS" else "Failure")
    screenshot(page, "05-run")
    assert run["status"] == "SUCCESS", f"run {run['runId']} ended {run['status']}"
    assert {p["path"][-1] for p in run["assetSelection"]} == set(MARTS)

    goto(page, "/assets/daily_delay_by_carrier", "Row count")
    wait_for_text(page, "Latest materialization")
    body = page.inner_text("body")
    for text in (
        "flight_date",
        "p90_dep_delay",
        "datacody/preview",
        "datacody/dvc_md5",
        "asset_specs/marts.yaml:",
        "spec of daily_delay_by_carrier",
    ):
        assert text in body, text
    assert re.search(r"Row count\s+5,?432", body), body[:2000]
    screenshot(page, "06-asset-overview", docs=True)

    # The Events tab shows the materialization with its metadata and the DVC hash as data version.
    goto(page, "/assets/daily_delay_by_carrier?view=events", "dagster/row_count")
    md5 = re.search(r"datacody/dvc_md5\s+([0-9a-f]{32})", page.inner_text("body"))
    assert md5, "no DVC md5 in the materialization's metadata"
    for text in ("dagster/column_schema", "dagster/uri", "datacody/spec"):
        assert text in page.inner_text("body"), text
    page.get_by_text(re.compile(r"Show tags")).filter(visible=True).first.click()
    page.wait_for_timeout(1500)
    tags = page.inner_text("body")
    # The data version (a tag of the materialization) is the DVC md5: the hash shows twice.
    assert tags.count(md5.group(1)) >= 2, "data version != DVC md5: " + tags[-3000:]
    screenshot(page, "07-asset-events")


def test_checks_tab_lists_checks_with_severity_and_failing_rows(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    goto(page, "/assets/route_performance?view=checks", "Checks (")
    for name in ("unique_origin__dest", "range_late_share", "row_count", PLANTED_CHECK):
        wait_for_text(page, name)
    page.get_by_text(PLANTED_CHECK, exact=True).filter(visible=True).first.click()
    wait_for_text(page, "Latest execution")
    body = page.inner_text("body")
    assert "severity warn" in body
    assert "Failed" in body
    assert "failing_rows" in body and "sample_table" in body
    screenshot(page, "08-asset-checks", docs=True)
    rows = re.search(r"failing_rows\s+(\d+)", body)
    assert rows and int(rows.group(1)) > 0, "the planted check should report failing rows"

    goto(page, "/assets/route_performance?view=checks", "Checks (")
    page.get_by_text("unique_origin__dest", exact=True).filter(visible=True).first.click()
    wait_for_text(page, "This is a blocking asset check")
    assert "severity error" in page.inner_text("body")


def test_optimizer_proposal_is_an_observation_on_its_asset(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    # dagster dev's daemon ticks the optimizer sensor (default status RUNNING) on start.
    goto(page, f"/assets/{PLANTED_VIEW}?view=events", "Events")
    deadline = time.monotonic() + 180
    while "Optimizer proposal" not in page.inner_text("body"):
        assert time.monotonic() < deadline, "no optimizer observation on the planted view"
        page.wait_for_timeout(5000)
        page.reload(wait_until="domcontentloaded")
        page.get_by_text("Events").first.wait_for()
        page.wait_for_timeout(1500)
    page.get_by_text("Optimizer proposal").filter(visible=True).first.click()
    wait_for_text(page, "datacody/rationale")
    body = page.inner_text("body")
    assert "view_read_by_many" in body
    assert "set_materialization materialized=table" in body
    assert "daily_delay_by_carrier" in body and "route_performance" in body
    screenshot(page, "09-optimizer-proposal", docs=True)
    proposals = list((dagster_ui.project / "proposals").glob("*"))
    assert proposals, "the sensor stores its proposals under proposals/"
