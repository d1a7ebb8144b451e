"""The Dagster UI as a person uses it: graph, a materialization launched from the UI, checks, proposals.

The tests run in file order against one `dagster dev`: the optimizer's observation is looked for
before later runs push it down the events list, the checks test reads the run that the
materialization test launched, and the dead-run test kills the code server, so it comes last.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import uuid
from urllib.parse import quote

import dagster as dg
import psutil
import pytest
from dagster._core.storage.dagster_run import DagsterRun

from datacody_dagster.emit.dagster import DUCKDB_POOL
from datacody_dagster.runtime.dead_runs import PID_TAG, pool_holders, run_tags
from tests.conftest import BIN
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
    "monthly_carrier_departures",  # an export: a saved metric query
]
MARTS = ["daily_delay_by_carrier", "route_performance", "carrier_fleet"]
EXPANDED = "global@global:flights,global@global:marts"


def goto(page, path: str, ready: str) -> None:  # type: ignore[no-untyped-def]
    """Open a UI path, wait for `ready` text, and dismiss the one-time community dialog."""
    page.goto(path, wait_until="domcontentloaded")
    wait_for_text(page, ready)
    dismiss_dialogs(page)


_DISMISSED: set[int] = set()


def dismiss_dialogs(page) -> None:  # type: ignore[no-untyped-def]
    """Skip the community dialog, which each new context shows once, some seconds after load."""
    skip = page.get_by_role("button", name="Skip", exact=True)
    if id(page) not in _DISMISSED:
        with contextlib.suppress(Exception):  # playwright's TimeoutError: no dialog this time
            skip.first.wait_for(timeout=6000)
    else:
        page.wait_for_timeout(800)
    if skip.count() and skip.first.is_visible():
        skip.first.click()
        page.wait_for_timeout(300)
        _DISMISSED.add(id(page))


def wait_for_text(page, text: str, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    page.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=timeout_s * 1000)


def _runs(ui: DagsterUI) -> list[dict]:  # type: ignore[type-arg]
    data = ui.graphql(
        "{ runsOrError(limit: 20) { ... on Runs { results { runId status assetSelection { path } } } } }"
    )
    return data["runsOrError"]["results"]


def test_asset_graph_shows_groups_assets_descriptions_and_owners(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    # The global lineage with both groups expanded: every asset and the edges between groups.
    # Tall enough for both expanded groups at the zoom Dagster opens with (nodes off-screen are not drawn).
    page.set_viewport_size({"width": 1440, "height": 2400})
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


def test_materialize_all_from_ui_then_asset_page_shows_metadata(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    before = {r["runId"] for r in _runs(dagster_ui)}
    goto(page, "/asset-groups?expanded=" + quote(EXPANDED), "Global asset lineage")
    page.get_by_role("button", name="Materialize all").click()
    # Dagster confirms with a toast linking to the run; the run itself is checked over GraphQL.
    page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}")).first.wait_for(timeout=60_000)
    # A person would not watch a live graph re-render for the whole run on 2 cores: measured blank.
    page.goto("about:blank")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    run: dict | None = None  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        new = [r for r in _runs(dagster_ui) if r["runId"] not in before]
        mine = [r for r in new if {"route_performance"} <= {p["path"][-1] for p in r["assetSelection"] or []}]
        if mine and mine[0]["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
            run = mine[0]
            break
        time.sleep(2)
    assert run is not None, f"no finished run within {RUN_TIMEOUT_S}s"
    times = dagster_ui.graphql(
        "query($r: ID!) { runOrError(runId: $r) { ... on Run { creationTime endTime } } }",
        {"r": run["runId"]},
    )["runOrError"]
    ui_seconds = float(times["endTime"]) - float(times["creationTime"])
    goto(page, f"/runs/{run['runId']}", run["runId"][:8])
    wait_for_text(page, "Success" if run["status"] == "SUCCESS" else "Failure")
    screenshot(page, "05-run")
    assert run["status"] == "SUCCESS", f"run {run['runId']} ended {run['status']}"
    assert {p["path"][-1] for p in run["assetSelection"]} == set(FLIGHTS + MARTS)

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

    # Issue 12: "Materialize all" under `dagster dev` (multiprocess executor) against the CLI
    # rebuilding the same assets, each from its start (run creation / process start) to its end.
    started = time.monotonic()
    done = _datacody(dagster_ui, "materialize", "--force", "--quiet")
    cli_seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    ratio = ui_seconds / cli_seconds
    print(
        f"\nMaterialize all ({len(FLIGHTS + MARTS)} assets): UI {ui_seconds:.1f}s, "
        f"CLI --force {cli_seconds:.1f}s, ratio {ratio:.2f}x (target <= 1.5x)"
    )
    # A guard against step processes paying their imports again (2.9x before the forkserver).
    assert ratio <= 2.5, f"UI {ui_seconds:.1f}s vs CLI {cli_seconds:.1f}s"


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


def _datacody(ui: DagsterUI, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": str(ui.home)}
    env.pop("DATACODY_PROJECT_DIR", None)
    return subprocess.run(
        [str(BIN / "datacody"), *args], cwd=ui.project, env=env, capture_output=True, text=True, timeout=600
    )


def _fingerprint(path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    import hashlib

    return path.stat().st_mtime_ns, hashlib.md5(path.read_bytes()).hexdigest()


def _latest_materialization_run(ui: DagsterUI, asset: str) -> str:
    data = ui.graphql(
        "query($k: [AssetKeyInput!]) { assetNodes(assetKeys: $k) {"
        " assetMaterializations(limit: 1) { runId } } }",
        {"k": [{"path": [asset]}]},
    )
    return str(data["assetNodes"][0]["assetMaterializations"][0]["runId"])


def _launched_run(page, ui: DagsterUI) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The run the UI's toast ("Launched run 1a2b3c4d") names, once finished."""
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}")).first
    toast.wait_for(timeout=60_000)
    prefix = re.search(r"Launched run ([0-9a-f]{8})", toast.inner_text())
    assert prefix
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = next((r for r in _runs(ui) if r["runId"].startswith(prefix.group(1))), None)
        if run and run["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
            return run
        time.sleep(1)
    raise AssertionError(f"run {prefix.group(1)} did not finish within {RUN_TIMEOUT_S}s")


def test_execute_on_checks_tab_evaluates_checks_and_materializes_nothing(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    instance = dg.DagsterInstance.from_config(str(dagster_ui.home))
    warehouse = dagster_ui.project / "data" / "warehouse"
    checks = ["range_avg_arr_delay", "range_late_share", "row_count", "unique_origin__dest"]
    for asset, output, clicked, expected in (
        # "Execute all" on a dbt model's Checks tab...
        ("route_performance", warehouse / "marts" / "route_performance.parquet", "Execute all", checks),
        # ...and "Execute" on one check of a source.
        ("raw_airlines", warehouse / "flights" / "raw_airlines.parquet", "Execute", ["unique_carrier"]),
    ):
        before = _fingerprint(output)
        materialized_by = _latest_materialization_run(dagster_ui, asset)
        goto(page, f"/assets/{asset}?view=checks", "Checks (")
        if clicked == "Execute":
            page.get_by_text(expected[0], exact=True).filter(visible=True).first.click()
            wait_for_text(page, "Latest execution")
        page.get_by_role("button").filter(has_text=re.compile(f"^{clicked}$")).first.click()
        run = _launched_run(page, dagster_ui)
        assert run["status"] == "SUCCESS", run
        assert not run["assetSelection"], "a check-only run selects no asset"
        evaluated = sorted(
            e.dagster_event.asset_check_evaluation_data.check_name
            for e in instance.all_logs(run["runId"], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            if e.dagster_event is not None
        )
        assert evaluated == expected
        assert not instance.all_logs(run["runId"], of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        assert _fingerprint(output) == before, f"{output.name} was rewritten by a check-only run"
        assert _latest_materialization_run(dagster_ui, asset) == materialized_by
        goto(page, f"/assets/{asset}?view=checks", "Checks (")
        wait_for_text(page, "Succeeded")
        screenshot(page, f"10-checks-executed-{asset}")


def test_blocking_failure_keeps_the_previous_materialization_current(page, dagster_ui: DagsterUI) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    source = dagster_ui.project / "data" / "raw" / "nycflights13" / "airlines.csv"
    output = dagster_ui.project / "data" / "warehouse" / "flights" / "raw_airlines.parquet"
    good = source.read_bytes()
    before = _fingerprint(output)
    materialized_by = _latest_materialization_run(dagster_ui, "raw_airlines")
    # A bad batch: a carrier twice, against the blocking `unique: carrier`.
    source.write_bytes(good + b"AA,Duplicate Airlines Inc.\n")
    try:
        goto(page, "/assets/raw_airlines", "Latest materialization")
        page.get_by_role("button", name="Materialize").first.click()
        run = _launched_run(page, dagster_ui)
    finally:
        source.write_bytes(good)
    assert run["status"] == "FAILURE", run
    # The published file and the current materialization are the old ones...
    assert _fingerprint(output) == before
    assert _latest_materialization_run(dagster_ui, "raw_airlines") == materialized_by
    # ...and the quarantine holds the candidate (17 rows: 16 airlines and the duplicate).
    candidate = (
        dagster_ui.project / "data" / "quarantine" / "flights" / "raw_airlines" / f"{run['runId']}.parquet"
    )
    assert candidate.exists()
    assert pq.read_metadata(candidate).num_rows == 17
    goto(page, "/assets/raw_airlines", "Latest materialization")
    wait_for_text(page, "Failed in")
    body = page.inner_text("body")
    assert re.search(rf"Failed in\s+{run['runId'][:8]}", body), body[:1500]
    # The page's metadata is the published materialization's: 16 rows, the file's own md5.
    assert re.search(r"Row count\s+16\b", body), body[:1500]
    assert before[1][:20] in body, "the DVC md5 shown is not the published file's"
    screenshot(page, "11-blocking-failure-keeps-previous")


LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
 ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""


def launch(ui: DagsterUI, assets: list[str]) -> str:
    """Launch a run of `assets` over GraphQL (what the UI's Materialize button sends)."""
    repo = ui.graphql(
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
    )["repositoriesOrError"]["nodes"][0]
    params = {
        "selector": {
            "repositoryLocationName": repo["location"]["name"],
            "repositoryName": repo["name"],
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": [a]} for a in assets],
        },
        "runConfigData": {},
    }
    out = ui.graphql(LAUNCH, {"p": params})["launchRun"]
    assert out["__typename"] == "LaunchRunSuccess", out
    return str(out["run"]["runId"])


def run_status(ui: DagsterUI, run_id: str) -> str:
    data = ui.graphql("query($r: ID!) { runOrError(runId: $r) { ... on Run { status } } }", {"r": run_id})
    return str(data["runOrError"]["status"])


def wait_until(what: str, timeout_s: float, poll_s: float = 0.5):  # type: ignore[no-untyped-def]
    def deco(fn):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout_s
        while not (value := fn()):
            assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f}s"
            time.sleep(poll_s)
        return value

    return deco


def test_ui_run_waits_naming_the_holder_then_its_killed_worker_fails_and_frees_the_pool(
    dagster_ui: DagsterUI,
) -> None:
    instance = dg.DagsterInstance.from_config(str(dagster_ui.home))
    storage = instance.event_log_storage
    # A live run (this test process) holds the DuckDB writer pool.
    holder = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="__ASSET_JOB", run_id=holder, status=dg.DagsterRunStatus.STARTED, tags=run_tags())
    )
    assert storage.claim_concurrency_slot(DUCKDB_POOL, holder, "datacody_dbt_models").is_claimed
    # With a source in the selection the run starts (a run whose every root step waits on a full
    # pool stays queued in Dagster's coordinator), then its dbt step waits inside the run.
    run_id = launch(
        dagster_ui, ["raw_airlines", "daily_delay_by_carrier", "route_performance", "carrier_fleet"]
    )

    # Inside the run, the wait names the holder and since when (Dagster's own event names the pool only).
    @wait_until("the run's wait for the pool names the holder", 180)
    def said() -> str:
        return next(
            (
                e.message
                for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
                if e.message and f"is held by run {holder[:8]}" in e.message
            ),
            "",
        )

    assert "since" in said and "UTC" in said and "datacody_dbt_models" in said, said
    instance.report_run_failed(instance.get_run_by_id(holder), message="test holder done")
    storage.free_concurrency_slots_for_run(holder)

    # The run takes the slot; its worker (pid recorded as a tag by the executor) starts the dbt step.
    @wait_until("the UI run holds the pool with a step process running", 180, 0.2)
    def worker() -> psutil.Process | None:
        run = instance.get_run_by_id(run_id)
        assert run is not None and not run.is_finished, run and run.status
        if PID_TAG not in run.tags or not any(
            h.run_id == run_id for h in pool_holders(instance, DUCKDB_POOL)
        ):
            return None
        proc = psutil.Process(int(run.tags[PID_TAG]))
        return proc if proc.children() else None

    steps = worker.children(recursive=True)
    # Kill the code server that launched it first: only the run-worker health check of
    # DatacodyRunLauncher (the daemon's run monitoring) can see the worker die then.
    os.kill(worker.parent().pid, signal.SIGKILL)
    os.kill(worker.pid, signal.SIGKILL)
    killed = time.monotonic()

    @wait_until("the killed run is FAILURE", 90, 1.0)
    def failed() -> bool:
        return run_status(dagster_ui, run_id) == "FAILURE"

    took = time.monotonic() - killed
    messages = [e.message or "" for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)]
    assert any(f"run worker process (pid {worker.pid}" in m and "is gone" in m for m in messages), messages
    # Its orphaned step processes are stopped, and the daemon frees its slot.
    assert not [p.pid for p in steps if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    @wait_until("the dead run's pool slot is freed", 90, 1.0)
    def freed() -> bool:
        return not pool_holders(instance, DUCKDB_POOL)

    freed_after = time.monotonic() - killed
    print(f"\nUI run killed: FAILURE after {took:.1f}s, slot freed after {freed_after:.1f}s")
    started = time.monotonic()
    done = _datacody(
        dagster_ui, "materialize", "--select", "daily_delay_by_carrier", "--force", "--wait-timeout", "30"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "waiting for pool" not in done.stdout + done.stderr
    print(f"next datacody materialize: {time.monotonic() - started:.1f}s")
