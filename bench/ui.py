"""Issue 12's UI line: "Materialize all" under `dagster dev` against `datacody materialize --force`.

    .venv/bin/python bench/ui.py [--repeat 5] [--keep]

The browser suite's project (the example's flights and marts, with its planted view and warn
check) is copied to a temp folder; `dagster dev` (webserver and daemon, the multiprocess
executor) serves it on a loopback port. Each round launches the run the UI's "Materialize all"
button launches (every asset and check of the job, over GraphQL, as the button does), waits for
its end, then runs `datacody materialize --force` on the same project and instance. Prints the
medians of both (the UI run from its creation to its end, as Dagster records them; the CLI as a
whole process), their ratio, and the UI run's timeline from its events (median seconds after
creation), so a change can be placed on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import copy_example  # noqa: E402
from tests.ui.conftest import DagsterUI as UI  # noqa: E402
from tests.ui.conftest import plant, start_dagster_dev  # noqa: E402

RUN_QUERY = """
query($r: ID!) { runOrError(runId: $r) { ... on Run { status creationTime startTime endTime
  eventConnection(afterCursor: null, limit: 5000) { events { __typename
    ... on MessageEvent { timestamp stepKey message } } } } } }
"""
LAUNCH = """
mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }
"""


def _wait_loaded(ui: UI, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"dagster dev exited with {proc.returncode}")
        try:
            data = ui.graphql(
                "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus"
                " locationOrLoadError { __typename } } } } }"
            )
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and all(
                e["loadStatus"] == "LOADED"
                and (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
                for e in entries
            ):
                return
        except OSError:
            pass
        time.sleep(1.0)
    raise SystemExit("the code location did not load within 300 s")


def _execution_params(ui: UI) -> dict[str, object]:
    """What the "Materialize all" button sends: the asset job, every asset and every check."""
    data = ui.graphql(
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }"
        " assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks"
        " { name assetKey { path } } } } } } } } }"
    )
    repo = data["repositoriesOrError"]["nodes"][0]
    keys = [n["assetKey"] for n in repo["assetNodes"]]
    checks = [
        {"name": c["name"], "assetKey": c["assetKey"]}
        for n in repo["assetNodes"]
        for c in (n["assetChecksOrError"] or {}).get("checks", [])
    ]
    return {
        "selector": {
            "repositoryLocationName": repo["location"]["name"],
            "repositoryName": repo["name"],
            "pipelineName": "__ASSET_JOB",
            "assetSelection": keys,
            "assetCheckSelection": checks,
        },
        "mode": "default",
        "executionMetadata": {"tags": []},
        "runConfigData": "{}",
    }


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all processes, /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _ui_round(ui: UI, params: dict[str, object]) -> tuple[float, dict[str, float]]:
    busy = _busy_cpu_s()
    launched = ui.graphql(LAUNCH, {"p": params})["launchPipelineExecution"]
    if launched["__typename"] != "LaunchRunSuccess":
        raise SystemExit(f"launch failed: {launched}")
    run_id = launched["run"]["runId"]
    status = "query($r: ID!) { runOrError(runId: $r) { ... on Run { status } } }"
    while ui.graphql(status, {"r": run_id})["runOrError"]["status"] not in {"SUCCESS", "FAILURE", "CANCELED"}:
        time.sleep(1.0)  # the status alone (the run's events are read once, at the end)
    run = ui.graphql(RUN_QUERY, {"r": run_id})["runOrError"]
    if run["status"] != "SUCCESS":
        raise SystemExit(f"UI run {run_id} ended {run['status']}")
    created = float(run["creationTime"])
    marks: dict[str, float] = {"machine CPU-s (all processes)": _busy_cpu_s() - busy}
    step_ends: list[float] = []
    for event in run["eventConnection"]["events"]:
        at = float(event["timestamp"]) / 1000 - created
        kind = event["__typename"]
        if kind in {"RunEnqueuedEvent", "RunStartingEvent", "RunStartEvent", "RunSuccessEvent"}:
            marks.setdefault(kind.removesuffix("Event"), at)
        elif kind == "ExecutionStepStartEvent":
            marks.setdefault("first step start", at)
            marks[f"start {event['stepKey']}"] = at
        elif kind == "ExecutionStepSuccessEvent":
            marks[f"end {event['stepKey']}"] = at
            step_ends.append(at)
        elif kind == "EngineEvent" and (event["message"] or "").startswith("Started process"):
            marks.setdefault("first step process", at)
    return float(run["endTime"]) - created, marks


def _cli_round(root: Path, env: dict[str, str]) -> tuple[float, float]:
    busy = _busy_cpu_s()
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "datacody"), "materialize", "--force", "--quiet"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return time.monotonic() - started, _busy_cpu_s() - busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temp project")
    args = parser.parse_args()
    from datacody_dagster.instance import DAGSTER_YAML

    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    root = copy_example(work / "project")
    (root / "asset_specs" / "corpus.yaml").unlink(missing_ok=True)
    plant(root)
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("DATACODY_PROJECT_DIR", None)
    _cli_round(root, env)  # the first run sets up DVC and the warehouse
    log = (work / "dagster_dev.log").open("wb")
    proc, ui = start_dagster_dev(root, home, log)
    ui_times: list[float] = []
    cli_times: list[float] = []
    cli_cpu: list[float] = []
    timelines: list[dict[str, float]] = []
    try:
        _wait_loaded(ui, proc)
        params = _execution_params(ui)
        time.sleep(3)  # the daemon's first ticks
        for i in range(args.repeat):
            seconds, marks = _ui_round(ui, params)
            ui_times.append(seconds)
            timelines.append(marks)
            seconds, cpu = _cli_round(root, env)
            cli_times.append(seconds)
            cli_cpu.append(cpu)
            print(
                f"round {i + 1}: UI {ui_times[-1]:.2f} s ({marks['machine CPU-s (all processes)']:.1f}"
                f" CPU-s), CLI {seconds:.2f} s ({cpu:.1f} CPU-s)",
                flush=True,
            )
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    ui_median, cli_median = statistics.median(ui_times), statistics.median(cli_times)
    print(f"\n| measurement | median of {args.repeat} |\n|---|---|")
    print(f'| UI "Materialize all" (creation to end) | {ui_median:.2f} s |')
    print(f"| `datacody materialize --force` | {cli_median:.2f} s |")
    ui_cpu = statistics.median(t["machine CPU-s (all processes)"] for t in timelines)
    print(f"| machine CPU-s, UI run / CLI run | {ui_cpu:.1f} / {statistics.median(cli_cpu):.1f} |")
    print(f"| ratio | **{ui_median / cli_median:.2f}x** (target <= 1.5x) |")
    names = sorted(
        {k for t in timelines for k in t},
        key=lambda k: statistics.median([t[k] for t in timelines if k in t]),
    )
    print("\nUI run timeline (median seconds after creation):")
    for name in names:
        if name.startswith("machine"):
            continue
        print(f"  {statistics.median([t[name] for t in timelines if name in t]):6.2f}  {name}")


if __name__ == "__main__":
    main()
