"""Planned checks keep the kind's typed argument model (`PlannedCheck.args`), not a dict."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import compile_project
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.spec.check_args import ColumnsArgs, FreshnessArgs, RangeArgs, RowCountArgs
from datacody_dagster.spec.check_kinds import kind_info
from tests.conftest import write_project

SPEC = """\
assets:
  orders:
    sql: select 1 as id, 2 as amount, current_date as day, 'x' as status
    columns:
      amount: {checks: [not_null, {range: {min: 0}}]}
    checks:
      - unique: [id, day]
      - {row_count: {min: 1}, severity: warn}
      - freshness: {column: day, max_age: 2d}
      - expression: amount >= 0
      - schema: {id: integer}
      - accepted_values: {column: status, values: [x, y]}
      - relationships: {column: id, to: orders, field: id}
      - drift
      - pii
"""


def test_every_planned_check_holds_its_kinds_model(tmp_path: Path) -> None:
    write_project(tmp_path, {"shop.yaml": SPEC}, dvc=False)
    checks = compile_project(tmp_path).plan.checks()
    assert len(checks) == 11
    for check in checks:
        assert isinstance(check.args, kind_info(check.kind).args), check.name
        assert None not in check.arg_dict.values()  # unset fields stay out of fingerprints
    by_kind = {c.kind: c for c in checks}
    # the implied column of a column-level check is filled into the model
    assert by_kind["range"].params_as(RangeArgs).column == "amount"
    assert by_kind["range"].params_as(RangeArgs).max is None
    assert by_kind["not_null"].column == "amount" and by_kind["not_null"].columns == ["amount"]
    assert by_kind["unique"].params_as(ColumnsArgs).columns == ["id", "day"]
    assert by_kind["freshness"].params_as(FreshnessArgs).max_age == "2d"
    assert by_kind["row_count"].params_as(RowCountArgs).min == 1
    assert by_kind["drift"].arg_dict["window"] == 60  # a bare kind gets its model's defaults


def test_a_mapping_given_by_hand_becomes_the_model() -> None:
    check = PlannedCheck("t", "n", "not_null", {"column": "odd name"}, "error", "")
    assert isinstance(check.args, ColumnsArgs)
    assert check.columns == ["odd name"]  # one column: the key is filled in
    ranged = PlannedCheck("t", "r", "range", {"column": "a", "min": 0}, "error", "")
    assert ranged.params_as(RangeArgs).min == 0 and ranged.arg_dict == {"column": "a", "min": 0}
