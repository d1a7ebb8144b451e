"""Expand spec check entries into planned checks: one per column where that reads better.

``not_null: [a, b]`` becomes two checks (each reports its own failing rows), ``unique: [a, b]``
is one composite-key check. Column-level checks get their column filled in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel

from datacody_dagster.errors import Location
from datacody_dagster.spec import CheckEntry
from datacody_dagster.spec.check_args import ColumnsArgs
from datacody_dagster.spec.check_kinds import kind_info

ArgsT = TypeVar("ArgsT", bound=BaseModel)

_SLUG = re.compile(r"[^0-9a-zA-Z_]+")


@dataclass(frozen=True)
class PlannedCheck:
    """A check as data: everything the evaluators and emitters need."""

    asset: str
    name: str
    kind: str
    args: dict[str, Any] = field(hash=False)
    severity: str
    description: str
    location: Location | None = None
    schedule: str | None = None  # cron of a schedule that runs this check alone

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    @cached_property
    def params(self) -> BaseModel:
        """The arguments as the kind's typed model (the registry's `args`), defaults filled in."""
        return kind_info(self.kind).args.model_validate(self.args)

    def params_as(self, model: type[ArgsT]) -> ArgsT:
        """The typed arguments, for code that handles one kind: ``check.params_as(FreshnessArgs)``."""
        params = self.params
        if not isinstance(params, model):
            raise TypeError(f"check `{self.name}` is a {self.kind} check, not {model.__name__}")
        return params

    @property
    def columns(self) -> list[str]:
        """The columns the check judges, each once (`not_null` plans both `column` and `columns`)."""
        cols = self.args.get("columns") or []
        col = self.args.get("column")
        return list(dict.fromkeys([*cols, *([col] if col else [])]))


def _columns_of(value: Any, implied: str | None) -> list[str]:
    if value is True:
        return [implied] if implied else []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def entry_columns(entry: CheckEntry, implied: str | None = None) -> list[str]:
    """Column names a check entry refers to on its own asset."""
    value = entry.value
    if kind_info(entry.kind).args is ColumnsArgs:
        return _columns_of(value, implied)
    fields = type(value).model_fields if isinstance(value, BaseModel) else {}
    if "columns" in fields:
        return list(value.columns or [])
    if "column" in fields:
        col: str | None = value.column or implied
        return [col] if col else []
    return []


def _slug(text: str) -> str:
    return _SLUG.sub("_", text).strip("_").lower()[:60] or "check"


def _describe(kind: str, args: dict[str, Any]) -> str:
    col = args.get("column")
    cols = ", ".join(args.get("columns") or [])
    match kind:
        case "not_null":
            return f"`{col}` is never null"
        case "unique":
            return f"({cols}) has no repeated value" if len(args["columns"]) > 1 else f"`{cols}` is unique"
        case "accepted_values":
            return f"`{col}` is one of {args['values']}"
        case "range":
            return f"`{col}` lies in [{args.get('min', '-inf')}, {args.get('max', 'inf')}]"
        case "regex":
            return f"`{col}` matches /{args['pattern']}/"
        case "relationships":
            return f"every `{col}` exists in {args['to']}.{args['field']}"
        case "row_count":
            return f"row count in [{args.get('min', 0)}, {args.get('max', 'inf')}]"
        case "freshness":
            return f"newest `{col}` is at most {args['max_age']} old"
        case "expression":
            return f"every row satisfies: {args['expression']}"
        case "sql":
            return "custom SQL returns no failing rows"
        case "schema":
            return "columns and types match: " + ", ".join(
                f"{k} {v}" for k, v in args["columns_types"].items()
            )
        case "drift":
            return f"`{col}` distribution stays close to the previous materialization"
        case "row_count_anomaly":
            return "row count is in line with recent history"
        case "null_fraction":
            return f"at most {args['max']:.2%} of `{col}` is null"
        case "distribution":
            return f"{', '.join(args['metrics'])} of `{col}` stay in line with history"
        case "pii":
            return "no personal data (emails, phones, cards, IBANs) in text columns"
        case "secrets":
            return "no secrets (API keys, tokens, private keys, passwords) in text columns"
        case "duplicates":
            return f"duplicate rate of `{col}` is acceptable"
    return kind


def _args_for(kind: str, value: Any, column: str | None) -> dict[str, Any]:
    if kind == "expression":
        from datacody_dagster.compiler.sql_safety import render_predicate

        return {"expression": render_predicate(value)}  # re-rendered by sqlglot, never pasted
    if kind == "sql":
        return {"sql": value}
    if kind == "schema":
        return {"columns_types": dict(value)}
    if hasattr(value, "model_dump"):
        args = {k: v for k, v in value.model_dump().items() if v is not None}
        if column and "column" in type(value).model_fields and not args.get("column"):
            args["column"] = column
        return args
    return {}


def plan_checks(
    asset: str,
    entries: Sequence[tuple[CheckEntry, str | None, Location | None]],
) -> list[PlannedCheck]:
    """Planned checks for one asset from ``(entry, implied column, location)`` triples."""
    out: list[PlannedCheck] = []
    names: set[str] = set()

    def add(kind: str, args: dict[str, Any], entry: CheckEntry, loc: Location | None, suffix: str) -> None:
        base = entry.name or (f"{kind}_{suffix}" if suffix else kind)
        name = _slug(base)
        n = 2
        while name in names:
            name = f"{_slug(base)}_{n}"
            n += 1
        names.add(name)
        out.append(
            PlannedCheck(
                asset=asset,
                name=name,
                kind=kind,
                args=args,
                severity=entry.severity,
                description=entry.description or _describe(kind, args),
                location=loc,
                schedule=entry.schedule,
            )
        )

    for entry, implied, loc in entries:
        kind = entry.kind
        if kind == "not_null":
            for col in _columns_of(entry.value, implied):
                add(kind, {"column": col, "columns": [col]}, entry, loc, col)
        elif kind == "unique":
            cols = _columns_of(entry.value, implied)
            add(kind, {"columns": cols}, entry, loc, "__".join(cols))
        else:
            args = _args_for(kind, entry.value, implied)
            column = args.get("column")
            add(kind, args, entry, loc, _slug(str(column)) if column else "")
    return out
