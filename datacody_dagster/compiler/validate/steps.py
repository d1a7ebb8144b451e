"""DC106: `steps:` are known step kinds with valid arguments, on an asset with `from:`."""

from __future__ import annotations

from pydantic import ValidationError

from datacody_dagster import errors
from datacody_dagster.compiler.index import Entry, ProjectIndex
from datacody_dagster.compiler.sql import SqlProblem
from datacody_dagster.compiler.sql_safety import parse_predicate
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec import AssetSpecModel
from datacody_dagster.spec.steps import SHORTHAND, STEP_ARGS, FilterArgs, StepSpecError, parse_step


def _loc(entry: Entry, *keys: str | int) -> Location:
    loc = entry.location(*keys)
    return loc


def _filter_diagnostics(entry: Entry, i: int, args: FilterArgs) -> list[Diagnostic]:
    """One scalar predicate (no statement, no subquery, no file function): it runs re-rendered."""
    parsed = parse_predicate(args.predicate)
    if not isinstance(parsed, SqlProblem):
        return []
    return [
        Diagnostic(
            errors.INVALID_ASSET,
            f"asset `{entry.name}`, step {i + 1} `filter`: {parsed.message}",
            _loc(entry, "steps", i, "filter"),
            "a filter is a row predicate, e.g. `lines > 10`",
        )
    ]


def _step_diagnostics(entry: Entry, i: int, item: object) -> list[Diagnostic]:
    try:
        _, args = parse_step(item)
        if isinstance(args, FilterArgs):
            return _filter_diagnostics(entry, i, args)
    except StepSpecError as exc:
        return [
            Diagnostic(
                errors.INVALID_ASSET,
                f"asset `{entry.name}`, step {i + 1}: {exc}",
                _loc(entry, "steps", i),
                "write each step as `- kind: {args}`",
            )
        ]
    except ValidationError as exc:
        assert isinstance(item, dict)
        kind = next(iter(item))
        allowed = ", ".join(STEP_ARGS[kind].model_fields)
        diags = []
        for err in exc.errors():
            keys = [
                k
                for k in err["loc"]
                if not (kind in SHORTHAND and k == SHORTHAND[kind] and not isinstance(item[kind], dict))
            ]
            where = ".".join(str(k) for k in keys) or kind
            msg = f"unknown argument `{keys[-1]}`" if err["type"] == "extra_forbidden" else err["msg"]
            diags.append(
                Diagnostic(
                    errors.INVALID_ASSET,
                    f"asset `{entry.name}`, step {i + 1} `{kind}`: {where}: "
                    f"{msg.removeprefix('Value error, ')}",
                    _loc(entry, "steps", i, kind, *keys),
                    f"arguments of `{kind}`: {allowed}",
                )
            )
        return diags
    return []


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for entry in index.entries:
        spec = entry.spec
        if not isinstance(spec, AssetSpecModel) or not spec.steps:
            continue
        if spec.from_ is None:
            diags.append(
                Diagnostic(
                    errors.INVALID_ASSET,
                    f"asset `{entry.name}`: `steps:` need `from:`",
                    _loc(entry, "steps"),
                    "add `from: <input asset>` to the asset",
                )
            )
        for i, item in enumerate(spec.steps):
            diags.extend(_step_diagnostics(entry, i, item))
            if isinstance(item, dict) and "output" in item and i != len(spec.steps) - 1:
                diags.append(
                    Diagnostic(
                        errors.INVALID_ASSET,
                        f"asset `{entry.name}`: the `output` step must be the last step",
                        _loc(entry, "steps", i),
                        "move `- output: ...` to the end of `steps:`",
                    )
                )
        if spec.partition_by and any(isinstance(s, dict) and "output" in s for s in spec.steps):
            diags.append(
                Diagnostic(
                    errors.INVALID_ASSET,
                    f"asset `{entry.name}`: set `partition_by` either on the asset or in `output`",
                    _loc(entry, "partition_by"),
                    "keep `output: {partition_by: [...]}` only",
                )
            )
    return diags
