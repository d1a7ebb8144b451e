"""The real asset graph as facts, and the validation every machine-written patch must pass.

LLM output is checked here against known assets, columns, checks and crons, and any SQL must
pass the same guard as user SQL (one SELECT reading only known assets). A list of problems is
returned (empty: valid) so that instructor can send them back to the model when re-asking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlglot import exp

from datacody_dagster.compiler.checks import entry_columns
from datacody_dagster.compiler.plan import ProjectPlan
from datacody_dagster.compiler.sql import SqlProblem, parse_select, referenced_tables
from datacody_dagster.cron import is_valid_cron
from datacody_dagster.optimizer import model as m
from datacody_dagster.spec import CheckEntry

_DERIVED_ONLY = (
    m.SetSchedule,
    m.SetAutomation,
    m.SetMaterialization,
    m.SetIncremental,
    m.SetPartitions,
    m.MergeDuplicates,
    m.SetSql,
)


@dataclass(frozen=True)
class GraphFacts:
    """Names only: assets, whether each is a source, its known columns and its check names, and
    which assets can only be tables (validation refuses a view or incremental on them)."""

    sources: frozenset[str]
    columns: dict[str, frozenset[str] | None]
    checks: dict[str, frozenset[str]]
    finding_ids: frozenset[str] = field(default_factory=frozenset)
    not_dbt: frozenset[str] = frozenset()
    """Derived assets dbt does not run (Spark SQL, Python, steps, exports): tables only."""
    read_as_parquet: frozenset[str] = frozenset()
    """Assets a Spark SQL or steps asset reads from their Parquet output: never views."""
    no_partition_by: frozenset[str] = frozenset()
    """Derived assets that take no asset-level `partition_by` (all but steps without `output`)."""

    @property
    def assets(self) -> frozenset[str]:
        return frozenset(self.columns)

    @classmethod
    def from_plan(cls, plan: ProjectPlan, finding_ids: frozenset[str] = frozenset()) -> GraphFacts:
        return cls(
            sources=frozenset(n.name for n in plan.nodes if n.is_source),
            columns={n.name: (frozenset(n.columns or n.column_types) or None) for n in plan.nodes},
            checks={n.name: frozenset(c.name for c in n.checks) for n in plan.nodes},
            finding_ids=finding_ids,
            not_dbt=frozenset(n.name for n in plan.nodes if not n.is_source and not n.runs_in_dbt),
            read_as_parquet=frozenset(d for n in plan.nodes for d in n.parquet_inputs),
            no_partition_by=frozenset(
                n.name for n in plan.nodes if not n.is_source and not n.takes_partition_by
            ),
        )


def sql_problems(sql: str, facts: GraphFacts, asset: str | None = None) -> list[str]:
    """The user-SQL guard: one SELECT over known assets (and not the asset itself)."""
    parsed = parse_select(sql)
    if isinstance(parsed, SqlProblem):
        return [parsed.message]
    problems = [
        f"the SQL reads `{t}`, which is not an asset of this project (known: "
        f"{', '.join(sorted(facts.assets))})"
        for t in referenced_tables(parsed)
        if t not in facts.assets
    ]
    if asset and asset in referenced_tables(parsed):
        problems.append(f"the SQL of `{asset}` may not read `{asset}` itself")
    return problems


def _expression_problems(predicate: str, facts: GraphFacts, asset: str) -> list[str]:
    problems = sql_problems(f"select * from {asset} where {predicate}", facts)
    parsed = parse_select(f"select * from {asset} where {predicate}")
    if not problems and isinstance(parsed, exp.Expression) and any(parsed.find_all(exp.Subquery)):
        problems.append("a check expression is a row predicate and may not hold a subquery")
    return problems


def _unknown_columns(asset: str, cols: list[str], facts: GraphFacts) -> list[str]:
    known = facts.columns.get(asset)
    if known is None:
        return []
    return [
        f"`{asset}` has no column `{c}` (columns: {', '.join(sorted(known))})" for c in cols if c not in known
    ]


def _check_problems(asset: str, check: dict[str, Any], facts: GraphFacts) -> list[str]:
    try:
        entry = CheckEntry.model_validate(check)
    except ValidationError as exc:
        return [f"invalid check {check}: {err['msg']}" for err in exc.errors()]
    problems = _unknown_columns(asset, entry_columns(entry), facts)
    if entry.kind == "sql":
        problems += sql_problems(str(entry.value), facts)
    if entry.kind == "expression":
        problems += _expression_problems(str(entry.value), facts, asset)
    if entry.kind == "relationships":
        target = entry.value.to
        if target not in facts.assets:
            problems.append(f"relationships target `{target}` is not an asset")
        else:
            problems += _unknown_columns(target, [entry.value.field], facts)
    return problems


def _materialization_problems(asset: str, patch: Any, facts: GraphFacts) -> list[str]:
    """A view or incremental only where validation accepts it (``compiler/validate/materialization.py``
    and ``view_readers.py``): on a SQL asset dbt runs, and a view only if nothing reads it as Parquet."""
    if isinstance(patch, m.SetMaterialization):
        wanted: str = patch.materialized
    elif isinstance(patch, m.SetIncremental):
        wanted = "incremental"
    elif isinstance(patch, m.MergeDuplicates):
        wanted = "view"  # the duplicate becomes `select * from <into>` as a view
    else:
        return []
    if wanted == "table":
        return []
    if asset in facts.not_dbt:
        return [
            f"`{asset}` is not a SQL asset that dbt runs on DuckDB: it can only be a table, "
            f"not `materialized: {wanted}`"
        ]
    if wanted == "view" and asset in facts.read_as_parquet:
        return [f"a Spark SQL or steps asset reads `{asset}` from its Parquet output: it cannot be a view"]
    return []


def patch_problems(asset: str, patch: Any, facts: GraphFacts) -> list[str]:
    """Everything wrong with applying ``patch`` to ``asset``; empty when it is valid."""
    if asset not in facts.assets:
        return [f"`{asset}` is not an asset of this project (known: {', '.join(sorted(facts.assets))})"]
    if asset in facts.sources and isinstance(patch, _DERIVED_ONLY):
        return [f"`{asset}` is a source: only check patches apply to it, not {patch.op}"]
    if problems := _materialization_problems(asset, patch, facts):
        return problems
    match patch:
        case m.SetSchedule(cron=cron) if not is_valid_cron(cron):
            return [f"`{cron}` is not a valid five-field cron expression"]
        case m.SetAutomation(automation="on_cron", on_cron=cron) if not cron or not is_valid_cron(cron):
            return [f"`{cron}` is not a valid five-field cron expression"]
        case m.SetIncremental(unique_key=key, cursor=cursor):
            return _unknown_columns(asset, [*key, *([cursor] if cursor else [])], facts)
        case m.SetPartitions() if asset in facts.no_partition_by:
            return [
                f"`{asset}` cannot take `partition_by`: only steps assets write partitioned folders "
                "(without an `output` step, which partitions itself)"
            ]
        case m.SetPartitions(columns=cols):
            return _unknown_columns(asset, cols, facts)
        case m.AddCheck(check=check):
            return _check_problems(asset, check, facts)
        case m.TuneCheck(check=name) | m.RemoveCheck(check=name) if name not in facts.checks.get(asset, ()):
            known = ", ".join(sorted(facts.checks.get(asset, ()))) or "none"
            return [f"`{asset}` has no check `{name}` (its checks: {known})"]
        case m.MergeDuplicates(into=into):
            if into == asset or into not in facts.assets or into in facts.sources:
                return [f"cannot merge `{asset}` into `{into}`: not another derived asset of the project"]
        case m.SetSql(sql=sql):
            return sql_problems(sql, facts, asset)
    return []
