"""Expand spec check entries into planned checks: one per column where that reads better.

``not_null: [a, b]`` becomes two checks (each reports its own failing rows), ``unique: [a, b]``
is one composite-key check. Column-level checks get their column filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from datacody_dagster.errors import Location
from datacody_dagster.spec import CheckEntry
from datacody_dagster.spec import check_args as a
from datacody_dagster.spec.check_args import (
    CheckArgs,
    ColumnsArgs,
    ExpressionArgs,
    SchemaArgs,
    SqlArgs,
)
from datacody_dagster.spec.check_kinds import kind_info

ArgsT = TypeVar("ArgsT", bound=BaseModel)

_SLUG = re.compile(r"[^0-9a-zA-Z_]+")


@dataclass(frozen=True)
class PlannedCheck:
    """A check as data: everything the evaluators and emitters need."""

    asset: str
    name: str
    kind: str
    args: CheckArgs = field(hash=False)
    """The kind's typed argument model (the registry's `args`), defaults filled in. A mapping
    given here (tests, hand-built checks) becomes that model as it is, unvalidated."""
    severity: str
    description: str
    location: Location | None = None
    schedule: str | None = None  # cron of a schedule that runs this check alone

    def __post_init__(self) -> None:
        if isinstance(self.args, Mapping):
            # Planned data is trusted as it is (tests probe quoting with names the spec rejects).
            data = dict(self.args)
            model = kind_info(self.kind).args
            if model is ColumnsArgs and not data.get("columns") and data.get("column"):
                data["columns"] = [data["column"]]
            object.__setattr__(self, "args", model.model_construct(**data))

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    @property
    def arg_dict(self) -> dict[str, Any]:
        """The arguments as plain data (unset fields left out): fingerprints, caches, JSON."""
        return self.args.as_dict()

    @property
    def params(self) -> BaseModel:
        """The typed arguments (same as ``args``)."""
        return self.args

    def params_as(self, model: type[ArgsT]) -> ArgsT:
        """The typed arguments, for code that handles one kind: ``check.params_as(FreshnessArgs)``."""
        params = self.params
        if not isinstance(params, model):
            raise TypeError(f"check `{self.name}` is a {self.kind} check, not {model.__name__}")
        return params

    @property
    def column(self) -> str | None:
        """The one column a column-level check judges (None for table-level kinds)."""
        column: str | None = getattr(self.args, "column", None)
        return column

    @property
    def columns(self) -> list[str]:
        """The columns the check judges, each once (`not_null` plans both `column` and `columns`)."""
        cols = getattr(self.args, "columns", None) or []
        col = getattr(self.args, "column", None)
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


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _describe(kind: str, args: CheckArgs) -> str:
    col = getattr(args, "column", None)
    match args:
        case ColumnsArgs(columns=cols) if kind == "unique":
            return f"({', '.join(cols)}) has no repeated value" if len(cols) > 1 else f"`{cols[0]}` is unique"
        case ColumnsArgs():
            return f"`{col}` is never null"
        case a.AcceptedValuesArgs():
            return f"`{col}` is one of {args.values}"
        case a.RangeArgs():
            return f"`{col}` lies in [{_or(args.min, '-inf')}, {_or(args.max, 'inf')}]"
        case a.RegexArgs():
            return f"`{col}` matches /{args.pattern}/"
        case a.RelationshipsArgs():
            return f"every `{col}` exists in {args.to}.{args.field}"
        case a.RowCountArgs():
            return f"row count in [{_or(args.min, 0)}, {_or(args.max, 'inf')}]"
        case a.FreshnessArgs():
            return f"newest `{col}` is at most {args.max_age} old"
        case ExpressionArgs():
            return f"every row satisfies: {args.expression}"
        case SqlArgs():
            return "custom SQL returns no failing rows"
        case SchemaArgs():
            return "columns and types match: " + ", ".join(f"{k} {v}" for k, v in args.columns_types.items())
        case a.DriftArgs():
            return f"`{col}` distribution stays close to the previous materialization"
        case a.RowCountAnomalyArgs():
            return "row count is in line with recent history"
        case a.NullFractionArgs():
            return f"at most {args.max:.2%} of `{col}` is null"
        case a.DistributionArgs():
            return f"{', '.join(args.metrics)} of `{col}` stay in line with history"
        case a.ScanArgs() if kind == "pii":
            return "no personal data (emails, phones, cards, IBANs) in text columns"
        case a.ScanArgs():
            return "no secrets (API keys, tokens, private keys, passwords) in text columns"
        case a.DuplicatesArgs():
            return f"duplicate rate of `{col}` is acceptable"
    return kind


def _args_for(kind: str, value: Any, column: str | None) -> CheckArgs:
    if kind == "expression":
        from datacody_dagster.compiler.sql_safety import render_predicate

        return ExpressionArgs(expression=render_predicate(value))  # re-rendered by sqlglot, never pasted
    if kind == "sql":
        return SqlArgs(sql=value)
    if kind == "schema":
        return SchemaArgs(columns_types=dict(value))
    model = kind_info(kind).args
    if not isinstance(value, model):
        return cast("CheckArgs", model())
    if column and "column" in type(value).model_fields and not getattr(value, "column", None):
        return cast("CheckArgs", value.model_copy(update={"column": column}))
    return cast("CheckArgs", value)


def plan_checks(
    asset: str,
    entries: Sequence[tuple[CheckEntry, str | None, Location | None]],
) -> list[PlannedCheck]:
    """Planned checks for one asset from ``(entry, implied column, location)`` triples."""
    out: list[PlannedCheck] = []
    names: set[str] = set()

    def add(kind: str, args: CheckArgs, entry: CheckEntry, loc: Location | None, suffix: str) -> None:
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
                add(kind, ColumnsArgs(column=col, columns=[col]), entry, loc, col)
        elif kind == "unique":
            cols = _columns_of(entry.value, implied)
            add(kind, ColumnsArgs(columns=cols), entry, loc, "__".join(cols))
        else:
            args = _args_for(kind, entry.value, implied)
            column = getattr(args, "column", None)
            add(kind, args, entry, loc, _slug(str(column)) if column else "")
    return out
