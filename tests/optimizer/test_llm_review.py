"""The LLM review through the real anthropic + instructor path, with a mocked HTTP transport."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from dagster import DagsterInstance

from datacody_dagster.compiler import compile_project
from datacody_dagster.optimizer.observations import proposal_observation
from datacody_dagster.optimizer.service import evaluate, record_new
from datacody_dagster.resources.llm import LlmResource
from tests.optimizer.conftest import materialize_event
from tests.optimizer.llm_mock import ScriptedAnthropic

KEY = "sk-ant-test-SENTINEL-KEY-0042"
ROW_SECRET = "Zelda-Row-Value-77"


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATACODY_TEST_LLM_KEY", KEY)


def resource(mock: ScriptedAnthropic, retries: int = 2) -> LlmResource:
    return LlmResource(
        api_key_env="DATACODY_TEST_LLM_KEY", model="claude-test", max_retries=retries
    ).with_http_client(mock.client())


def heuristic_ids(root: Path, home: Path) -> list[str]:
    with DagsterInstance.from_config(str(home)) as instance:
        return [p.id for p in evaluate(compile_project(root), instance)]


def run(root: Path, home: Path, llm: LlmResource):  # type: ignore[no-untyped-def]
    with DagsterInstance.from_config(str(home)) as instance:
        return evaluate(compile_project(root), instance, llm=llm)


def test_offline_resource_reports_itself_and_changes_nothing(
    planted: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATACODY_TEST_LLM_KEY", raising=False)
    llm = LlmResource(api_key_env="DATACODY_TEST_LLM_KEY")
    assert not llm.online
    assert "DATACODY_TEST_LLM_KEY" in llm.status()
    assert [p.id for p in run(planted, dagster_home, llm)] == heuristic_ids(planted, dagster_home)


def test_valid_reply_ranks_explains_and_adds_proposals(
    planted: Path, dagster_home: Path, llm_env: None
) -> None:
    ids = heuristic_ids(planted, dagster_home)
    last = ids[-1]
    mock = ScriptedAnthropic(
        {
            "ranked": [{"id": last, "rank": 1, "explanation": "Cheapest win: do this first."}],
            "proposals": [
                {
                    "asset": "stg_customers",
                    "patch": {"op": "add_check", "check": {"not_null": ["country"]}},
                    "rationale": "Every downstream group-by uses country.",
                    "expected_gain": "nulls caught at the source",
                }
            ],
        }
    )
    proposals = run(planted, dagster_home, resource(mock))
    assert len(mock.requests) == 1
    assert proposals[0].id == last and "Cheapest win" in proposals[0].rationale
    [added] = [p for p in proposals if p.source == "llm"]
    assert added.asset == "stg_customers" and added.patch.op == "add_check"
    assert {p.id for p in proposals} == {*ids, added.id}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(
            {
                "ranked": [],
                "proposals": [
                    {
                        "asset": "no_such_asset",
                        "patch": {"op": "set_materialization", "materialized": "table"},
                        "rationale": "x",
                    }
                ],
            },
            id="unknown-asset",
        ),
        pytest.param(
            {
                "ranked": [],
                "proposals": [
                    {
                        "asset": "customer_ids",
                        "patch": {"op": "set_sql", "sql": "drop table raw_events"},
                        "rationale": "x",
                    }
                ],
            },
            id="drop-table",
        ),
        pytest.param(
            {
                "ranked": [],
                "proposals": [
                    {
                        "asset": "customer_ids",
                        "patch": {"op": "set_sql", "sql": "select * from secret_schema_table"},
                        "rationale": "x",
                    }
                ],
            },
            id="unknown-table",
        ),
        pytest.param({"ranked": [], "proposals": [], "shell_command": "rm -rf /"}, id="extra-field"),
        pytest.param(
            {
                "ranked": [],
                "proposals": [
                    {
                        "asset": "customer_ids",
                        "patch": {"op": "set_schedule", "cron": "every hour"},
                        "rationale": "x",
                    }
                ],
            },
            id="bad-cron",
        ),
        pytest.param(
            {
                "ranked": [],
                "proposals": [
                    {
                        "asset": "stg_customers",
                        "patch": {"op": "set_partitions", "columns": ["no_such_column"]},
                        "rationale": "x",
                    }
                ],
            },
            id="unknown-column",
        ),
    ],
)
def test_invalid_reply_is_reasked_then_dropped(
    planted: Path, dagster_home: Path, llm_env: None, bad: dict, caplog: pytest.LogCaptureFixture
) -> None:
    mock = ScriptedAnthropic(bad)
    with caplog.at_level(logging.WARNING):
        proposals = run(planted, dagster_home, resource(mock, retries=2))
    assert len(mock.requests) == 3  # asked, then re-asked twice
    assert [p.id for p in proposals] == heuristic_ids(planted, dagster_home)
    assert all(p.source == "heuristic" for p in proposals)
    assert "LLM review dropped after 3 attempt(s)" in caplog.text
    # the re-ask tells the model what was wrong
    assert "error" in mock.raw[1].lower() or "validation" in mock.raw[1].lower()


def test_invalid_then_valid_reply_is_accepted(planted: Path, dagster_home: Path, llm_env: None) -> None:
    mock = ScriptedAnthropic(
        {
            "ranked": [],
            "proposals": [
                {
                    "asset": "ghost",
                    "patch": {"op": "set_materialization", "materialized": "view"},
                    "rationale": "x",
                }
            ],
        },
        {
            "ranked": [],
            "proposals": [
                {
                    "asset": "customer_ids",
                    "patch": {"op": "set_sql", "sql": "select distinct customer_id from stg_customers"},
                    "rationale": "dedupe",
                }
            ],
        },
    )
    proposals = run(planted, dagster_home, resource(mock))
    assert len(mock.requests) == 2
    assert "ghost" in mock.raw[1]  # the error about the unknown asset went back to the model
    [added] = [p for p in proposals if p.source == "llm"]
    assert added.patch.op == "set_sql"


def test_request_holds_no_row_values_and_key_never_leaks(
    planted: Path,
    dagster_home: Path,
    llm_env: None,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv = planted / "data" / "raw" / "customers.csv"
    csv.write_text(csv.read_text() + f"4,{ROW_SECRET},IT\n")
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        materialize_event(
            instance,
            "stg_customers",
            rows=4,
            version="stg-v2",
            duration=0.02,
            extra={"datacody/preview": f"| customer_id | name |\n| 4 | {ROW_SECRET} |"},
        )
    mock = ScriptedAnthropic({"ranked": [], "proposals": []})
    with caplog.at_level(logging.DEBUG):
        proposals = run(planted, dagster_home, resource(mock))
        project = compile_project(planted)
        new = record_new(project, proposals)
        observations = [proposal_observation(p) for p in new]
    assert mock.requests, "the LLM was called"
    body = "\n".join(mock.raw)
    assert ROW_SECRET not in body
    assert "stg_customers" in body and "customer_id" in body  # names and aggregates are there
    assert KEY not in body
    # the key goes to the provider, in a header, and only there
    assert KEY in (mock.headers[0].get("x-api-key", "") + mock.headers[0].get("authorization", ""))
    assert KEY not in caplog.text
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
    for path in (planted / "proposals").glob("*.json"):
        assert KEY not in path.read_text() and ROW_SECRET not in path.read_text()
    for obs in observations:
        assert KEY not in json.dumps({k: str(v) for k, v in obs.metadata.items()})
    assert KEY not in repr(resource(mock))
