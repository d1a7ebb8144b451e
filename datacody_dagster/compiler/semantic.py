"""The semantic layer as plain data: MetricFlow semantic models and metrics from the specs.

It also resolves the names people type (``origin``, ``day``, ``carrier``) to MetricFlow's
qualified names (``flight__origin``, ``metric_time__day``, ``carrier``) and turns plain filter
predicates (``origin = 'JFK'``) into MetricFlow's filter templates. Expressions are parsed and
re-rendered with sqlglot, never pasted. No dbt, MetricFlow or YAML imports here.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from datacody_dagster.compiler.sql import SqlProblem, nesting_problem
from datacody_dagster.compiler.sql_shape import open_join_problem, tree_depth_problem
from datacody_dagster.errors import Location

DIALECT = "duckdb"
GRAINS = ("day", "week", "month", "quarter", "year")
ALL_GRAINS = ("hour", *GRAINS)
METRIC_TIME = "metric_time"
_MF_NAME = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")
_BAD_EXPR = (exp.Query, exp.Subquery, exp.DDL, exp.DML, exp.Command, exp.Copy, exp.Pragma, exp.Attach)


def name_problem(name: str) -> str | None:
    """Why MetricFlow would reject ``name`` as an element or metric name, or None."""
    if not _MF_NAME.match(name) or "__" in name:
        return (
            "names may hold lower case letters, digits and single underscores, start with a letter, "
            "not end with `_`, and be 2 characters or more"
        )
    return None


class ExprError(ValueError):
    """An expression or filter that cannot be used; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class UnknownName(LookupError):
    """A name the semantic layer does not know; ``closest`` are the nearest known names."""

    def __init__(self, message: str, closest: list[str]):
        super().__init__(message)
        self.closest = closest


def parse_expr(text: str) -> exp.Expr:
    """One SQL expression (not a query, no Jinja), parsed with sqlglot's DuckDB dialect."""
    if "{{" in text or "{%" in text:
        raise ExprError("Jinja is not allowed here", "write plain SQL over column or dimension names")
    shape = nesting_problem(text) or open_join_problem(text, DIALECT)
    if shape is not None:  # sqlglot's parser would overflow the stack or backtrack for hours
        message = shape.message if isinstance(shape, SqlProblem) else shape[0]
        raise ExprError(f"cannot parse `{text[:80]}`: {message}")
    try:
        tree = sqlglot.parse_one(text, dialect=DIALECT)
    except (ParseError, TokenError) as exc:
        raise ExprError(f"cannot parse `{text}`: {str(exc).splitlines()[0]}") from exc
    except RecursionError:
        raise ExprError(f"cannot parse `{text[:80]}`: too deeply nested") from None
    too_deep = tree_depth_problem(tree) if tree is not None else None
    if too_deep is not None:
        raise ExprError(f"cannot use `{text[:80]}`: {too_deep}")
    if tree is None or isinstance(tree, _BAD_EXPR) or tree.find(exp.Query, exp.Subquery):
        raise ExprError(f"`{text}` must be one SQL expression, not a query")
    return tree


def expr_columns(text: str) -> tuple[str, list[str]]:
    """The re-rendered expression and the column names it reads."""
    tree = parse_expr(text)
    return tree.sql(dialect=DIALECT), sorted({c.name for c in tree.find_all(exp.Column)})


def closest(name: str, candidates: list[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)


@dataclass(frozen=True)
class Element:
    """An entity, dimension or measure of a semantic model."""

    name: str
    kind: Literal["entity", "dimension", "measure"]
    type: str  # entity type | categorical/time | aggregation
    expr: str | None = None  # re-rendered SQL; None means the column of the same name
    label: str | None = None
    description: str | None = None
    granularity: str | None = None


@dataclass(frozen=True)
class SemanticModel:
    """One asset's semantic model (named like the asset)."""

    name: str
    group: str
    location: Location
    description: str | None
    entities: tuple[Element, ...]
    dimensions: tuple[Element, ...]
    measures: tuple[Element, ...]
    primary_entity: str | None
    """Set when no entity has `type: primary`: the name dimensions are qualified with."""
    time_dimension: str | None

    @property
    def key(self) -> str:
        """The entity that qualifies this model's dimensions (`flight` in `flight__origin`)."""
        for e in self.entities:
            if e.type == "primary":
                return e.name
        return self.primary_entity or self.name


@dataclass(frozen=True)
class Metric:
    name: str
    group: str
    type: str
    location: Location
    label: str
    description: str | None = None
    measure: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    expr: str | None = None
    metrics: tuple[str, ...] = ()
    window: str | None = None
    grain_to_date: str | None = None
    filter: str | None = None
    """The filter as written (plain SQL over dimension names)."""


@dataclass(frozen=True)
class GroupBy:
    """Something a metric query can group or filter by."""

    name: str  # MetricFlow's name: flight__origin, metric_time__day, carrier
    short: str  # what people type: origin, day, carrier
    kind: Literal["dimension", "time", "entity"]
    model: str | None
    label: str | None = None
    description: str | None = None
    grain: str | None = None

    def template(self) -> str:
        """MetricFlow's filter template for this item."""
        if self.kind == "entity":
            return "{{ Entity('" + self.name + "') }}"
        if self.kind == "time":
            base = (
                self.name.removesuffix(f"__{self.grain}") if self.name.startswith(METRIC_TIME) else self.name
            )
            return "{{ TimeDimension('" + base + "', '" + (self.grain or "day") + "') }}"
        return "{{ Dimension('" + self.name + "') }}"


def default_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class SemanticLayer:
    models: tuple[SemanticModel, ...] = ()
    metrics: tuple[Metric, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.models and not self.metrics

    def model(self, name: str) -> SemanticModel | None:
        return next((m for m in self.models if m.name == name), None)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def measure_owner(self, name: str) -> SemanticModel | None:
        return next((m for m in self.models if any(x.name == name for x in m.measures)), None)

    def measure_names(self) -> list[str]:
        return [x.name for m in self.models for x in m.measures]

    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def referable_metrics(self) -> list[str]:
        """Names a ratio or derived metric may use: metrics, and measures (made into metrics)."""
        return sorted({*self.metric_names(), *self.measure_names()})

    def measures_behind(self, name: str, _seen: frozenset[str] = frozenset()) -> set[str]:
        """Measures a metric (or a measure used as a metric) aggregates, through ratios and derivations."""
        if name in _seen:
            return set()
        metric = self.metric(name)
        if metric is None:
            return {name} if self.measure_owner(name) else set()
        seen = _seen | {name}
        if metric.measure:
            return {metric.measure}
        out: set[str] = set()
        for part in (metric.numerator, metric.denominator, *metric.metrics):
            if part:
                out |= self.measures_behind(part, seen)
        return out

    def home_model(self, metric_name: str) -> str | None:
        """The semantic model of a metric's first measure (where short names are looked up first)."""
        for measure in sorted(self.measures_behind(metric_name)):
            owner = self.measure_owner(measure)
            if owner:
                return owner.name
        return None

    def group_bys(self) -> list[GroupBy]:
        """Every dimension, time dimension and entity, plus metric_time at each grain."""
        out: list[GroupBy] = [
            GroupBy(f"{METRIC_TIME}__{g}", g, "time", None, f"Metric time by {g}", None, g) for g in GRAINS
        ]
        seen_entities: set[str] = set()
        for m in self.models:
            for d in m.dimensions:
                if d.type == "time":
                    grain = d.granularity or "day"
                    out.append(
                        GroupBy(f"{m.key}__{d.name}", d.name, "time", m.name, d.label, d.description, grain)
                    )
                else:
                    out.append(
                        GroupBy(f"{m.key}__{d.name}", d.name, "dimension", m.name, d.label, d.description)
                    )
            for e in m.entities:
                if e.name not in seen_entities:
                    seen_entities.add(e.name)
                    out.append(GroupBy(e.name, e.name, "entity", m.name, None, e.description))
        return out

    def resolve_group_by(self, name: str, prefer_model: str | None = None) -> GroupBy:
        """The group-by item a typed name means; raises UnknownName with the closest names."""
        wanted = name.strip().lower()
        items = self.group_bys()
        if wanted == METRIC_TIME:
            wanted = f"{METRIC_TIME}__day"
        for item in items:
            if item.name == wanted:
                return item
        base, _, grain = wanted.rpartition("__")
        if base and grain in ALL_GRAINS:
            try:
                inner = self.resolve_group_by(base, prefer_model)
            except UnknownName:
                inner = None
            if inner is not None and inner.kind == "time":
                return GroupBy(
                    f"{inner.name}__{grain}",
                    f"{inner.short}__{grain}",
                    "time",
                    inner.model,
                    inner.label,
                    inner.description,
                    grain,
                )
        matches = [i for i in items if i.short == wanted]
        if prefer_model:
            local = [i for i in matches if i.model == prefer_model]
            if len(local) == 1:
                return local[0]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise UnknownName(
                f"`{name}` is ambiguous: {', '.join(i.name for i in matches)}", [i.name for i in matches]
            )
        names = sorted({*(i.short for i in items), *(i.name for i in items)})
        near = closest(wanted, names)
        raise UnknownName(f"unknown dimension `{name}`", near)

    def resolve_metric(self, name: str) -> Metric:
        metric = self.metric(name.strip().lower())
        if metric is None:
            raise UnknownName(f"unknown metric `{name}`", closest(name.lower(), self.metric_names()))
        return metric

    def scoped(self, group: str) -> SemanticLayer:
        """The metrics of one group (one domain, one context) with every semantic model."""
        return SemanticLayer(self.models, tuple(m for m in self.metrics if m.group == group))

    def filter_template(self, text: str, prefer_model: str | None = None) -> str:
        """A plain predicate over dimension names as MetricFlow's filter (raises ExprError)."""
        tree = parse_expr(text)
        tokens: dict[str, str] = {}
        for i, column in enumerate(list(tree.find_all(exp.Column))):
            written = column.name if not column.table else f"{column.table}__{column.name}"
            try:
                item = self.resolve_group_by(written, prefer_model)
            except UnknownName as exc:
                hint = f"did you mean `{exc.closest[0]}`?" if exc.closest else "see `datacody metrics list`"
                raise ExprError(f"filter `{text}`: {exc}", hint) from exc
            token = f"dcmfref{i}x"
            tokens[token] = item.template()
            column.replace(exp.column(token))
        rendered = tree.sql(dialect=DIALECT)
        for token, template in tokens.items():
            rendered = re.sub(rf"\b{token}\b", lambda _m, t=template: t, rendered)  # type: ignore[misc]
        return rendered
