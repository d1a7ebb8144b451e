"""The check-kind registry: one record per kind, consistent with the spec, the schema and patches."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from datacody_dagster.compiler import compile_project
from datacody_dagster.emit.json_schema import spec_json_schema
from datacody_dagster.optimizer import model as m
from datacody_dagster.optimizer.patches import apply_patch
from datacody_dagster.spec import CheckEntry
from datacody_dagster.spec.check_args import ColumnsArgs
from datacody_dagster.spec.check_kinds import CHECK_KINDS, KINDS, kind_info
from tests.conftest import write_project

BARE = sorted(k.name for k in KINDS.values() if k.bare == "defaults")


def _accepts_no_arguments(model: type[BaseModel]) -> bool:
    try:
        model.model_validate({})
    except ValidationError:
        return False
    return True


def test_every_spec_kind_key_has_one_record() -> None:
    keys = {f.alias or name for name, f in CheckEntry.model_fields.items()}
    assert set(CHECK_KINDS) == keys - {"severity", "name", "description", "schedule"}
    assert tuple(KINDS) == CHECK_KINDS


def test_bare_form_follows_the_argument_model() -> None:
    for kind in KINDS.values():
        if kind.args is ColumnsArgs:
            assert kind.bare == "column", kind.name
        elif kind.bare == "defaults":
            assert _accepts_no_arguments(kind.args), kind.name


def test_bare_kinds_parse_and_others_need_arguments() -> None:
    for name in CHECK_KINDS:
        if KINDS[name].bare:
            assert CheckEntry.model_validate(name).kind == name
        else:
            with pytest.raises(ValidationError):
                CheckEntry.model_validate(name)
    with pytest.raises(ValueError, match="unknown check kind 'nul'; kinds: not_null"):
        kind_info("nul")


def test_json_schema_offers_exactly_the_bare_kinds_as_strings() -> None:
    import jsonschema

    schema = spec_json_schema()
    for name in CHECK_KINDS:
        doc = {"assets": {"t": {"sql": "select 1 as a", "columns": {"a": {"checks": [name]}}}}}
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
        assert (errors == []) == (KINDS[name].bare is not None), name


@pytest.mark.parametrize("kind", BARE)
def test_tuning_a_bare_check_writes_a_valid_spec(kind: str, tmp_path: Path) -> None:
    """`proposals apply` on a bare `duplicates`/`row_count_anomaly`/... check (the old bug)."""
    write_project(
        tmp_path,
        {
            "a.yaml": f"""\
            assets:
              t:
                sql: select 'x' as s
                columns:
                  s: {{checks: [{kind}]}}
            """
        },
    )
    (check,) = compile_project(tmp_path).plan.node("t").checks
    fields = ("threshold", "max_rate", "min", "min_tolerance")
    field = next(f for f in fields if f in type(check.params).model_fields)
    value = 0.5 if field != "min" else 1
    patch = m.TuneCheck(check=check.name, severity="warn", args={field: value})
    apply_patch(tmp_path, m.Proposal(rule="test", asset="t", patch=patch, rationale="test"))
    (tuned,) = compile_project(tmp_path).plan.node("t").checks
    assert tuned.kind == kind and tuned.severity == "warn"
    assert getattr(tuned.params, field) == value
