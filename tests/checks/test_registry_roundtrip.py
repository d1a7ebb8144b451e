"""Every registered check kind, end to end: validate -> plan (typed) -> emit (dbt test) ->
evaluate on DuckDB and, where the registry says so, on Spark with the same verdict -> suggest
(every suggested check is a registered kind and applies as a patch) -> patch round trip (tune to
`warn`, then remove) through `proposals apply`'s code path.

One asset carries one failing check of every kind; a kind added to the registry without a case
here fails `test_every_kind_has_a_case`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from datacody_dagster.checks import evaluate_checks
from datacody_dagster.checks.model import CheckOutcome, CheckTarget
from datacody_dagster.checks.suggest import suggest_checks
from datacody_dagster.compiler import CompiledProject, compile_project, diagnose
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.emit.dbt import schema_yaml
from datacody_dagster.optimizer import model as m
from datacody_dagster.optimizer.patches import apply_patch
from datacody_dagster.spec.check_kinds import CHECK_KINDS, KINDS
from tests.conftest import write_project

T_SQL = """\
select * from (values
  (1, 'placed', 10.0, timestamp '2020-01-01 00:00:00', 'the same text twice', 1),
  (1, 'lost', -5.0, timestamp '2020-01-02 00:00:00', 'write to ada@example.com', 9),
  (null, 'shipped', 3.0, timestamp '2020-01-03 00:00:00', 'key AKIAIOSFODNN7EXAMPLE here', 2),
  (4, 'placed', 4.0, timestamp '2020-01-04 00:00:00', 'the same text twice', 1)
) as v(id, status, amount, ts, content, parent_id)"""

# Enough rows for the profiler to suggest checks (it needs 20).
S_SQL = "select i as id, 'k' || (i % 3) as kind, i * 1.5 as amount from range(30) as r(i)"

# kind -> a check entry the data above fails (drift and row_count_anomaly pass without history).
CASES: dict[str, str] = {
    "not_null": "not_null: [id]",
    "unique": "unique: id",
    "accepted_values": "accepted_values: {column: status, values: [placed, shipped]}",
    "range": "range: {column: amount, min: 0}",
    "regex": "regex: {column: status, pattern: '[a-z]{6,7}'}",
    "relationships": "relationships: {column: parent_id, to: p, field: pid}",
    "row_count": "row_count: {min: 5}",
    "freshness": "freshness: {column: ts, max_age: 1d}",
    "expression": "expression: amount >= 0",
    "sql": "sql: select * from t where amount < 0",
    "schema": "schema: {id: varchar}",
    "drift": "drift: {column: amount}",
    "row_count_anomaly": "row_count_anomaly: {window: 5}",
    "pii": "pii: {columns: [content]}",
    "secrets": "secrets: {columns: [content]}",
    "duplicates": "duplicates: {column: content}",
    "null_fraction": "null_fraction: {column: id, max: 0.1}",
    "distribution": "distribution: {column: amount}",
}
NEED_HISTORY = {k for k in CHECK_KINDS if KINDS[k].needs_history}


def _spec() -> str:
    checks = "\n".join(f"      - {CASES[k]}" for k in CHECK_KINDS)
    body = "\n".join("        " + line for line in T_SQL.splitlines())
    parent = "  p:\n    sql: select 1 as pid union all select 2\n"
    parent += f"  s:\n    sql: {S_SQL}\n"
    return f"assets:\n{parent}  t:\n    sql: |\n{body}\n    checks:\n{checks}\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> CompiledProject:
    root = tmp_path_factory.mktemp("roundtrip")
    write_project(root, {"all.yaml": _spec()})
    return compile_project(root)


@pytest.fixture(scope="module")
def outputs(project: CompiledProject) -> dict[str, Path]:
    paths = {}
    con = duckdb.connect()
    for node in project.plan.nodes:
        path = project.output_path(node)
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"copy ({node.sql}) to '{path}' (format parquet)")
        paths[node.name] = path
    con.close()
    return paths


@pytest.fixture(scope="module")
def duckdb_outcomes(project: CompiledProject, outputs: dict[str, Path]) -> dict[str, CheckOutcome]:
    target = CheckTarget(
        asset="t",
        relation=f"read_parquet('{outputs['t']}')",
        parquet_path=outputs["t"],
        resolve=lambda name: f"read_parquet('{outputs[name]}')",
    )
    checks = project.plan.node("t").checks
    return {o.check.kind: o for o in evaluate_checks(target, checks)}


def _checks(project: CompiledProject) -> dict[str, PlannedCheck]:
    return {c.kind: c for c in project.plan.node("t").checks}


def test_every_kind_has_a_case() -> None:
    assert set(CASES) == set(CHECK_KINDS)


def test_validates_and_plans_typed(project: CompiledProject) -> None:
    _, diags = diagnose(project.root)
    assert diags == []
    checks = _checks(project)
    assert set(checks) == set(CHECK_KINDS)
    for kind, check in checks.items():
        assert isinstance(check.params, KINDS[kind].args), kind


def test_emits_the_registry_dbt_test(project: CompiledProject) -> None:
    doc = yaml.safe_load(schema_yaml(project, project.plan.node("t").group))
    (model,) = [mod for mod in doc["models"] if mod["name"] == "t"]
    emitted = {
        (next(iter(test)) if isinstance(test, dict) else test)
        for column in model.get("columns", [])
        for test in column.get("data_tests", [])
    }
    assert emitted == {KINDS[k].dbt_test for k in CHECK_KINDS if KINDS[k].dbt_test}


def test_duckdb_verdicts(duckdb_outcomes: dict[str, CheckOutcome]) -> None:
    for kind in CHECK_KINDS:
        outcome = duckdb_outcomes[kind]
        assert outcome.error is None, (kind, outcome.error)
        assert outcome.passed == (kind in NEED_HISTORY), kind
        if not outcome.passed:
            assert outcome.metadata.get("reason", "").startswith(
                KINDS[kind].failure_reason(outcome.check.args)
            ), (kind, outcome.metadata.get("reason"))
    assert duckdb_outcomes["not_null"].metadata["reason"] == "null values in id"


@pytest.mark.spark
def test_spark_agrees_where_the_registry_says_it_evaluates(
    project: CompiledProject, outputs: dict[str, Path], duckdb_outcomes: dict[str, CheckOutcome]
) -> None:
    from datacody_dagster.checks.spark import evaluate_on_spark
    from datacody_dagster.config import SparkSettings

    checks = project.plan.node("t").checks
    settings = SparkSettings(master="local[1]", conf={"spark.sql.shuffle.partitions": "2"})
    spark = evaluate_on_spark(outputs["t"], checks, settings, lambda name: outputs[name])
    for check, outcome in zip(checks, spark, strict=True):
        if "spark" not in KINDS[check.kind].engines:
            assert outcome is None, check.kind
            continue
        assert outcome is not None, check.kind
        ref = duckdb_outcomes[check.kind]
        assert (outcome.passed, outcome.failing_rows) == (ref.passed, ref.failing_rows), check.kind


@pytest.mark.parametrize("kind", CHECK_KINDS)
def test_patch_round_trip(kind: str, tmp_path: Path) -> None:
    write_project(tmp_path, {"all.yaml": _spec()})
    before = _checks(compile_project(tmp_path))[kind]
    tune = m.TuneCheck(check=before.name, severity="warn")
    apply_patch(tmp_path, m.Proposal(rule="t", asset="t", patch=tune, rationale="round trip"))
    tuned = _checks(compile_project(tmp_path))[kind]
    assert (tuned.severity, tuned.params) == ("warn", before.params)
    remove = m.RemoveCheck(check=before.name)
    apply_patch(tmp_path, m.Proposal(rule="t", asset="t", patch=remove, rationale="round trip"))
    assert kind not in _checks(compile_project(tmp_path))


def test_suggestions_are_registered_kinds_that_apply(
    project: CompiledProject, outputs: dict[str, Path], tmp_path: Path
) -> None:
    suggestions = suggest_checks(project, project.plan.node("s")).suggestions
    assert suggestions, "the profile of s should suggest checks"
    write_project(tmp_path, {"all.yaml": _spec()})
    for suggestion in suggestions:
        (kind,) = set(suggestion.entry) - {"severity", "name", "description"}
        assert kind in KINDS, kind
        patch = m.AddCheck(check=suggestion.entry)
        apply_patch(tmp_path, m.Proposal(rule="suggest", asset="s", patch=patch, rationale="suggested"))
    _, diags = diagnose(tmp_path)
    assert diags == []
    assert len(compile_project(tmp_path).plan.node("s").checks) >= len(suggestions)
