"""`ask`: the offline matcher on 20 questions, the LLM over real anthropic + instructor (mocked
transport), refusals, and verified answers that change later answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from datacody_dagster.compiler import CompiledProject, compile_project
from datacody_dagster.compiler.semantic import SemanticLayer
from datacody_dagster.resources.llm import LlmResource
from datacody_dagster.semantic.ask import ask
from datacody_dagster.semantic.matcher import match
from datacody_dagster.semantic.query import MetricQuery, run_query
from datacody_dagster.semantic.verified import VerifiedStore
from tests.optimizer.llm_mock import ScriptedAnthropic

runner = CliRunner()

# question -> (metrics, group_by) a person would accept
QUESTIONS: list[tuple[str, set[str], list[str]]] = [
    ("How many departures were there?", {"departures"}, []),
    ("How many flights did each carrier operate?", {"departures"}, ["carrier"]),
    ("Departures by origin airport", {"departures"}, ["origin"]),
    ("Daily departures", {"departures"}, ["day"]),
    ("What is the cancellation rate by carrier?", {"cancellation_rate"}, ["carrier"]),
    ("What share of flights were cancelled per origin?", {"cancellation_rate"}, ["origin"]),
    ("Average departure delay by carrier", {"average_delay"}, ["carrier"]),
    ("Which carrier has the highest average delay?", {"average_delay"}, ["carrier"]),
    ("Top 3 carriers by departures", {"departures"}, ["carrier"]),
    ("Average arrival delay per day", {"average_arrival_delay"}, ["day"]),
    ("How many flights were cancelled by month?", {"cancelled_flights"}, ["month"]),
    ("Total distance flown by carrier", {"distance_flown"}, ["carrier"]),
    ("How many distinct planes flew for each airline?", {"active_planes"}, ["airline_name"]),
    ("Completed flights by origin", {"completed_flights"}, ["origin"]),
    ("JFK departures by month", {"jfk_departures"}, ["month"]),
    ("Departures and cancellation rate by carrier", {"departures", "cancellation_rate"}, ["carrier"]),
    ("Mean arrival delay by destination", {"average_arrival_delay"}, ["dest"]),
    ("Average delay by airport", {"average_delay"}, ["airport"]),
    ("Which origin has the fewest cancelled flights?", {"cancelled_flights"}, ["origin"]),
    ("Monthly cancellation rate", {"cancellation_rate"}, ["month"]),
]


@pytest.fixture(scope="module")
def layer(example_project: Path) -> SemanticLayer:
    return compile_project(example_project).semantic


def test_offline_matcher_accuracy_on_twenty_questions(layer: SemanticLayer) -> None:
    right = 0
    lines = []
    for question, metrics, group_by in QUESTIONS:
        found = match(layer, question)
        ok = (
            found.query is not None
            and set(found.query.metrics) == metrics
            and found.query.group_by == group_by
        )
        right += ok
        lines.append(
            f"{'ok  ' if ok else 'MISS'} {question} -> {found.query.text() if found.query else found.reason}"
        )
    accuracy = right / len(QUESTIONS)
    print("\n".join(lines))
    print(f"offline matcher accuracy: {right}/{len(QUESTIONS)} = {accuracy:.0%}")
    assert accuracy >= 0.85


def test_offline_matcher_refuses_plainly(layer: SemanticLayer) -> None:
    found = match(layer, "What is the revenue per customer?")
    assert found.query is None and found.source == "none"
    assert "no metric" in found.reason and len(found.closest_metrics) == 3


def _llm(monkeypatch: pytest.MonkeyPatch, scripted: ScriptedAnthropic) -> LlmResource:
    monkeypatch.setenv("DATACODY_TEST_ANTHROPIC_KEY", "test-key")
    return LlmResource(api_key_env="DATACODY_TEST_ANTHROPIC_KEY").with_http_client(scripted.client())


VALID = {
    "answerable": True,
    "metrics": ["cancellation_rate", "departures"],
    "group_by": ["carrier"],
    "order_by": ["-cancellation_rate"],
    "limit": 3,
}


def test_llm_answer_runs_and_the_request_holds_no_row_values(
    monkeypatch: pytest.MonkeyPatch, compiled: CompiledProject, engine: Any
) -> None:
    scripted = ScriptedAnthropic(VALID)
    outcome = ask(compiled.semantic, "Which 3 carriers cancel the most?", _llm(monkeypatch, scripted), [])
    assert outcome.source == "llm" and outcome.query is not None
    assert len(scripted.requests) == 1
    result = run_query(engine, outcome.query)
    assert [r[0] for r in result.rows] == ["OO", "YV", "9E"]
    raw = scripted.raw[0]
    assert "cancellation_rate" in raw and "Share of scheduled flights that were cancelled" in raw
    every_row = run_query(
        engine, MetricQuery(metrics=["departures", "average_delay"], group_by=["airline_name"])
    )
    for row in every_row.rows:
        assert row[0] not in raw and str(row[1]) not in raw and f"{row[2]:.4f}"[:6] not in raw, row


def test_llm_unknown_name_is_re_asked_once_with_the_closest_name(
    monkeypatch: pytest.MonkeyPatch, compiled: CompiledProject
) -> None:
    bad = {**VALID, "metrics": ["cancelation_rate"], "order_by": []}
    scripted = ScriptedAnthropic(bad, VALID)
    outcome = ask(compiled.semantic, "cancellation rate by carrier", _llm(monkeypatch, scripted), [])
    assert outcome.query is not None and outcome.query.metrics == VALID["metrics"]
    assert len(scripted.requests) == 2
    assert "did you mean `cancellation_rate`?" in scripted.raw[1]


def test_llm_invalid_twice_is_refused_with_the_closest_metrics(
    monkeypatch: pytest.MonkeyPatch, compiled: CompiledProject
) -> None:
    bad = {**VALID, "metrics": ["revenue"], "group_by": ["customer"], "order_by": []}
    scripted = ScriptedAnthropic(bad)
    outcome = ask(compiled.semantic, "How often are flights cancelled?", _llm(monkeypatch, scripted), [])
    assert outcome.query is None and len(scripted.requests) == 2
    text = outcome.refusal(compiled.semantic)
    assert "cannot answer" in text and "cancellation_rate (Cancellation rate)" in text

    scripted = ScriptedAnthropic({"answerable": False})
    outcome = ask(compiled.semantic, "What is the weather like?", _llm(monkeypatch, scripted), [])
    assert (
        outcome.query is None
        and len(scripted.requests) == 1
        and "no metric answers it" in outcome.explanation
    )


def test_cli_ask_offline_prints_query_sql_and_result(
    monkeypatch: pytest.MonkeyPatch, warehouse_project: Path
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    res = runner.invoke(app, ["ask", "Top 3 carriers by departures", "-p", str(warehouse_project)])
    assert res.exit_code == 0, res.output
    assert "metrics=departures;group_by=carrier;order_by=-departures;limit=3" in res.output
    assert "SELECT" in res.output and "58,665" in res.output  # UA, the busiest carrier
    res = runner.invoke(app, ["ask", "revenue per customer", "-p", str(warehouse_project)])
    assert res.exit_code == 1 and "cannot answer" in res.output and "closest metrics" in res.output


def test_a_correction_changes_later_answers(
    monkeypatch: pytest.MonkeyPatch, warehouse_project: Path, compiled: CompiledProject
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    question = "How many flights did each airline operate?"
    before = match(compiled.semantic, question)
    assert before.query is not None and before.query.metrics != ["departures"]  # the matcher's miss
    res = runner.invoke(
        app,
        [
            "ask",
            question,
            "-p",
            str(warehouse_project),
            "--correct",
            "metrics=departures;group_by=airline_name",
        ],
    )
    assert res.exit_code == 0, res.output
    stored = (warehouse_project / "semantic" / "verified.yaml").read_text()
    assert question in stored and "departures" in stored

    later = "how many flights did each airline operate in 2013"
    res = runner.invoke(app, ["ask", later, "-p", str(warehouse_project), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["query"]["metrics"] == ["departures"] and doc["query"]["group_by"] == ["airline_name"]
    assert {r["carrier__airline_name"] for r in doc["rows"]} >= {"United Air Lines Inc."}

    res = runner.invoke(
        app, ["ask", "Total distance flown by carrier", "-p", str(warehouse_project), "--accept"]
    )
    assert res.exit_code == 0, res.output
    pairs = {p.question: p.query.text() for p in VerifiedStore(warehouse_project).load()}
    assert pairs == {
        question: "metrics=departures;group_by=airline_name",
        "Total distance flown by carrier": "metrics=distance_flown;group_by=carrier",
    }

    # the LLM gets the verified pair as an example
    scripted = ScriptedAnthropic(
        {**VALID, "metrics": ["departures"], "group_by": ["airline_name"], "order_by": []}
    )
    verified = VerifiedStore(warehouse_project).load()
    ask(compiled.semantic, later, _llm(monkeypatch, scripted), verified)
    assert question in scripted.raw[0] and "metrics=departures;group_by=airline_name" in scripted.raw[0]


def test_ask_and_query_say_what_is_missing(example_project: Path, warehouse_project: Path) -> None:
    res = runner.invoke(
        app, ["metrics", "query", "-p", str(example_project), "-m", "departures", "-g", "carrier"]
    )
    said = " ".join(res.output.split())  # the console wraps long lines
    assert res.exit_code == 1 and "no output yet for `stg_flights`:" in said  # only what the query reads
    assert "run `datacody materialize --select stg_flights` first" in said
    res = runner.invoke(
        app, ["ask", "departures by carrier", "-p", str(warehouse_project), "--group", "marts"]
    )
    assert res.exit_code == 1 and "no metrics to ask about" in res.output


def test_a_failing_llm_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, layer: SemanticLayer) -> None:
    import httpx2

    from datacody_dagster.errors import DatacodyError

    def down(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(500, json={"type": "error", "error": {"type": "api_error", "message": "down"}})

    monkeypatch.setenv("DATACODY_TEST_ANTHROPIC_KEY", "test-key")
    llm = LlmResource(api_key_env="DATACODY_TEST_ANTHROPIC_KEY").with_http_client(
        httpx2.Client(transport=httpx2.MockTransport(down))
    )
    with pytest.raises(DatacodyError, match="the LLM call failed"):
        ask(layer, "departures by carrier", llm, [])
