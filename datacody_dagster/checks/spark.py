"""Checks of a Spark asset, evaluated on Spark.

The row-level kinds share ONE aggregate job (``count(*) FILTER (WHERE <failing predicate>)`` per
check plus the row count, which also settles `row_count`); each key check (`unique`,
`relationships`) and each `sql` check is one job. A sample of failing rows costs one more job,
only when something failed (all failing row-level checks share it).

Semantics follow the DuckDB evaluator (``datacody_dagster.checks.sqltext``) so verdicts and
failing-row counts agree: only `not_null` judges nulls, NaN is a value (it equals itself and sorts
above every number, on both engines), `regex` is a full match, a null `expression` result is not a
failure, single-column `unique` ignores nulls while composite keys group them.

Kinds this module does not evaluate (freshness, schema, drift, row_count_anomaly, pii, secrets,
duplicates), and any check whose Spark SQL does not analyze or run (a DuckDB-only function in an
`expression`, a referenced asset without a Parquet output), come back as ``None``: the caller
evaluates those with the DuckDB evaluator, which also reports genuine errors the usual way.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from datacody_dagster.checks.context import SAMPLE_COLUMNS, SAMPLE_SIZE, json_safe
from datacody_dagster.checks.key_queries import (
    duplicate_keys_query,
    orphan_counts_query,
    orphan_rows_query,
)
from datacody_dagster.checks.model import CheckOutcome, CheckTarget
from datacody_dagster.checks.predicates import failing_predicate_sql
from datacody_dagster.compiler.checks import PlannedCheck
from datacody_dagster.compiler.sql import strip_jinja_refs
from datacody_dagster.config import SparkSettings
from datacody_dagster.engines.spark import as_session, to_spark_sql
from datacody_dagster.spec.check_args import RelationshipsArgs, SqlArgs
from datacody_dagster.spec.check_kinds import ROW_PREDICATE_KINDS, kinds_where

SPARK_KINDS = kinds_where(lambda k: "spark" in k.engines)
_PLACEHOLDER = "__dc_rel_{}__"


def spark_ident(name: str) -> str:
    """A quoted Spark identifier."""
    return "`" + name.replace("`", "``") + "`"


def file_relation(path: Path) -> str:
    """Spark SQL reading a Parquet file (or folder) directly: the query text is pasteable."""
    return "parquet." + spark_ident(str(path))


def failing_predicate(check: PlannedCheck) -> str:
    """Spark SQL boolean true exactly for the rows the check rejects (as sqltext's DuckDB one)."""
    return failing_predicate_sql(check, "spark")


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


class _Evaluator:
    def __init__(self, spark: Any, target: Path, resolve_path: Callable[[str], Path]) -> None:
        self.spark = spark
        self.prefix = f"dc_check_{uuid.uuid4().hex[:8]}"
        self.views: dict[Path, str] = {}
        self.resolve_path = resolve_path
        self.total = 0
        self.relation = self.view(target)

    def view(self, path: Path) -> str:
        """A temp view of a Parquet file (its schema is inferred once, not per query)."""
        if path not in self.views:
            name = f"{self.prefix}_{len(self.views)}"
            self.spark.read.parquet(str(path)).createOrReplaceTempView(name)
            self.views[path] = name
        return self.views[path]

    def shown(self, sql: str) -> str:
        """``sql`` as people can paste it into spark-sql: views replaced by their files."""
        for path, name in self.views.items():
            sql = _put_relation(sql, name, file_relation(path))
        return sql

    def close(self) -> None:
        for name in self.views.values():
            self.spark.catalog.dropTempView(name)

    def analyzes(self, sql: str) -> bool:
        """Whether Spark accepts ``sql`` (parsing and analysis only: no job runs)."""
        try:
            self.spark.sql(sql)
        except Exception:
            return False
        return True

    def rows(self, sql: str) -> list[Any]:
        return list(self.spark.sql(sql).collect())

    def outcome(
        self,
        check: PlannedCheck,
        failing: int,
        sample: list[dict[str, Any]],
        query: str,
        metadata: dict[str, Any],
    ) -> CheckOutcome:
        """The outcome of a check that fails on any failing row (or duplicate key), its query
        shown as people can paste it."""
        return CheckOutcome(
            check, failing == 0, failing, self.total, sample, self.shown(query), metadata=metadata
        )

    def sample(self, query: str, first: Sequence[str]) -> list[dict[str, Any]]:
        rows = self.rows(f"SELECT * FROM ({query}) AS q LIMIT {SAMPLE_SIZE}")
        return [_sample_row(r.asDict(recursive=True), first) for r in rows]

    # -- row-level kinds and row_count: one aggregate job ---------------------------------------

    def row_pass(self, checks: list[PlannedCheck]) -> dict[int, CheckOutcome | None]:
        out: dict[int, CheckOutcome | None] = {}
        preds: list[tuple[PlannedCheck, str]] = []
        for check in checks:
            if check.kind == "row_count":
                continue
            try:
                pred = failing_predicate(check)
            except Exception:
                out[id(check)] = None  # e.g. an expression sqlglot cannot parse: DuckDB reports it
                continue
            if self.analyzes(f"SELECT count(*) FILTER (WHERE {pred}) FROM {self.relation}"):
                preds.append((check, pred))
            else:
                out[id(check)] = None
        terms = ["count(*)", *(f"count(*) FILTER (WHERE {p})" for _, p in preds)]
        try:
            values = list(self.rows(f"SELECT {', '.join(terms)} FROM {self.relation}")[0])
        except Exception:
            # A runtime error (an ANSI cast) in one predicate: the others still get their verdict.
            values = [int(self.rows(f"SELECT count(*) FROM {self.relation}")[0][0])]
            for check, pred in list(preds):
                try:
                    row = self.rows(f"SELECT count(*) FILTER (WHERE {pred}) FROM {self.relation}")
                    values.append(row[0][0])
                except Exception:
                    out[id(check)] = None
                    preds.remove((check, pred))
                    continue
        self.total = int(values[0])
        failing = {id(c): int(v or 0) for (c, _), v in zip(preds, values[1:], strict=True)}
        samples = self._row_samples([(c, p) for c, p in preds if failing[id(c)]])
        for check, pred in preds:
            query = self.shown(f"SELECT * FROM {self.relation} WHERE {pred}")
            n = failing[id(check)]
            out[id(check)] = CheckOutcome(
                check,
                n == 0,
                n,
                self.total,
                samples.get(id(check), []),
                query,
                metadata={"method": "spark_aggregate_scan"},
            )
        for check in checks:
            if check.kind == "row_count":
                out[id(check)] = self._row_count(check)
        return out

    def _row_samples(self, failing: list[tuple[PlannedCheck, str]]) -> dict[int, list[dict[str, Any]]]:
        """Up to five failing rows of every failing row-level check, in one job."""
        if not failing:
            return {}
        parts = [
            f"(SELECT {i} AS __dc_check, * FROM {self.relation} WHERE {pred} LIMIT {SAMPLE_SIZE})"
            for i, (_, pred) in enumerate(failing)
        ]
        try:
            rows = self.rows(" UNION ALL ".join(parts))
        except Exception:
            return {}
        out: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            data = row.asDict(recursive=True)
            check = failing[int(data.pop("__dc_check"))][0]
            out.setdefault(id(check), []).append(_sample_row(data, check.columns))
        return out

    def _row_count(self, check: PlannedCheck) -> CheckOutcome:
        from datacody_dagster.checks.rows import row_count_verdict

        query = self.shown(f"SELECT count(*) FROM {self.relation}")
        return row_count_verdict(check, self.total, query, {"method": "spark_aggregate_scan"})

    # -- key checks and sql: one job each ---------------------------------------------------------

    def unique(self, check: PlannedCheck) -> CheckOutcome | None:
        query = duplicate_keys_query(check, self.relation, "spark")
        counting = f"SELECT count(*), coalesce(sum(n), 0) FROM ({query}) AS d"
        if not self.analyzes(counting):
            return None
        try:
            keys, failing = (int(v) for v in self.rows(counting)[0])
            sample = self.sample(f"{query} ORDER BY n DESC", check.columns) if keys else []
        except Exception:
            return None
        return self.outcome(check, failing, sample, query, {"method": "spark_group", "duplicate_keys": keys})

    def relationships(self, check: PlannedCheck) -> CheckOutcome | None:
        args = check.params_as(RelationshipsArgs)
        try:
            parent_path = self.resolve_path(args.to)
        except Exception:
            return None
        if not parent_path.exists():
            return None
        try:
            parent = self.view(parent_path)
        except Exception:
            return None
        counting = orphan_counts_query(check, self.relation, parent, "spark")
        if not self.analyzes(counting):
            return None
        query = orphan_rows_query(check, self.relation, parent, "spark")
        try:
            missing, failing = (int(v) for v in self.rows(counting)[0])
            sample = self.sample(query, [args.column or ""]) if failing else []
        except Exception:
            return None
        meta = {"method": "spark_anti_join", "missing_keys": missing, "parent": args.to}
        return self.outcome(check, failing, sample, query, meta)

    def sql(self, check: PlannedCheck) -> CheckOutcome | None:
        query = self.render_sql(check)
        if query is None:
            return None
        counting = f"SELECT count(*) FROM ({query}) AS q"
        if not self.analyzes(counting):
            return None
        try:
            failing = int(self.rows(counting)[0][0])
            sample = self.sample(query, []) if failing else []
        except Exception:
            return None
        return self.outcome(check, failing, sample, query, {"method": "spark_query"})

    def render_sql(self, check: PlannedCheck) -> str | None:
        """The user's DuckDB SELECT in Spark SQL, asset names read from their Parquet files."""
        text = check.params_as(SqlArgs).sql
        try:
            tree = sqlglot.parse_one(strip_jinja_refs(text), read="duckdb")
        except Exception:
            return None
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        names = {t.name for t in tree.find_all(exp.Table) if t.name and not t.db}
        relations: dict[str, str] = {}
        for name in sorted(names):
            if name.lower() in ctes:
                continue
            if name in {check.asset, "this"}:
                relations[name] = self.relation
                continue
            try:
                path = self.resolve_path(name)
            except Exception:
                return None
            if not path.exists():
                return None
            try:
                relations[name] = self.view(path)
            except Exception:
                return None
        placeholders = {name: _PLACEHOLDER.format(i) for i, name in enumerate(relations)}
        try:
            spark_sql = to_spark_sql(text, placeholders)
        except Exception:
            return None
        for name, token in placeholders.items():
            spark_sql = _put_relation(spark_sql, token, relations[name])
        return spark_sql


def _put_relation(sql: str, token: str, relation: str) -> str:
    return re.sub(rf"`?\b{re.escape(token)}\b`?", lambda _m: relation, sql)


def _sample_row(data: dict[str, Any], first: Sequence[str]) -> dict[str, Any]:
    names = list(data)
    order = [n for n in first if n in names] + [n for n in names if n not in first]
    return {n: json_safe(data[n]) for n in order[:SAMPLE_COLUMNS]}


@contextlib.contextmanager
def _quiet_pyspark_errors() -> Iterator[None]:
    """PySpark logs every failed query; a check that falls back to DuckDB is not an error."""
    logger = logging.getLogger("SQLQueryContextLogger")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def evaluate_on_spark(
    target_parquet: Path,
    checks: Sequence[PlannedCheck],
    settings: SparkSettings | Any,
    resolve_path: Callable[[str], Path],
) -> list[CheckOutcome | None]:
    """Outcomes of ``checks`` on the Parquet file ``target_parquet``, evaluated on Spark, in order.

    ``None`` marks a check not handled here (an unsupported kind, or Spark SQL that does not
    analyze or run): evaluate those with :func:`datacody_dagster.checks.evaluate_checks`.
    ``resolve_path`` gives the Parquet output of another asset (`relationships`, `sql`).
    """
    handled = [c for c in checks if c.kind in SPARK_KINDS]
    if not handled:
        return [None] * len(checks)
    spark = as_session(settings)
    with _quiet_pyspark_errors():
        try:
            ev = _Evaluator(spark, target_parquet, resolve_path)
        except Exception:
            return [None] * len(checks)  # unreadable here: DuckDB reports it
        try:
            done = ev.row_pass([c for c in handled if c.kind in ROW_PREDICATE_KINDS | {"row_count"}])
            for check in handled:
                match check.kind:
                    case "unique":
                        done[id(check)] = ev.unique(check)
                    case "relationships":
                        done[id(check)] = ev.relationships(check)
                    case "sql":
                        done[id(check)] = ev.sql(check)
        finally:
            ev.close()
    outcomes: list[CheckOutcome | None] = []
    for check in checks:
        outcome = done.get(id(check))
        outcomes.append(
            replace(outcome, metadata={**outcome.metadata, "engine": "spark"})
            if outcome is not None
            else None
        )
    return outcomes


def evaluate_spark_asset_checks(
    target: CheckTarget,
    checks: Sequence[PlannedCheck],
    settings: SparkSettings | Any,
    resolve_path: Callable[[str], Path],
    *,
    history: Any = None,
    cache: Any = None,
) -> list[CheckOutcome]:
    """All outcomes of a Spark asset: first what needs no job (cached outcomes of unchanged
    data, checks the SQL proves, Parquet footer statistics), then the supported kinds on Spark,
    the rest with DuckDB.

    Each outcome's metadata says where it was settled (``engine``: ``spark``, ``duckdb``,
    ``footer``, ``sql_proof``; a cached outcome keeps the engine of the run that computed it).
    """
    from datacody_dagster.checks import evaluate_checks

    assert target.parquet_path is not None
    settled, keys = _settled_without_a_job(target, checks, cache)
    todo = [i for i in range(len(checks)) if i not in settled]
    on_spark = evaluate_on_spark(target.parquet_path, [checks[i] for i in todo], settings, resolve_path)
    rest = [checks[i] for i, o in zip(todo, on_spark, strict=True) if o is None]
    duck = iter(evaluate_checks(target, rest, history=history, cache=cache) if rest else [])
    for i, outcome in zip(todo, on_spark, strict=True):
        if outcome is None:
            d = next(duck)
            settled[i] = replace(d, metadata={**d.metadata, "engine": "duckdb"})
        else:
            settled[i] = _with_reason(outcome)
            if cache is not None and i in keys:
                cache.put(keys[i], settled[i])
    return [settled[i] for i in range(len(checks))]


_NO_JOB_ENGINE = {"parquet_footer": "footer", "proven_by_sql": "sql_proof"}


def _settled_without_a_job(
    target: CheckTarget, checks: Sequence[PlannedCheck], cache: Any
) -> tuple[dict[int, CheckOutcome], dict[int, str]]:
    """Outcomes that need no Spark job, by index, and the cache key of every cacheable check.

    The same shortcuts and cache keys as the DuckDB evaluator, so a check settled on one engine
    is not re-run on the other for unchanged data.
    """
    from datacody_dagster.checks import engine, shortcuts
    from datacody_dagster.checks.context import EvalContext, connect

    done: dict[int, CheckOutcome] = {}
    keys: dict[int, str] = {}
    if cache is not None:
        version = engine.data_version_of(target)
        for i, check in enumerate(checks):
            key = engine._key_for(target, check, version)
            if key is not None:
                keys[i] = key
        hits = cache.get_many({key: checks[i] for i, key in keys.items()})
        for i, key in keys.items():
            hit = hits.get(key)
            if hit is not None:
                done[i] = hit if hit.check is checks[i] else replace(hit, check=checks[i])
    todo = [(i, c) for i, c in enumerate(checks) if i not in done and c.kind in SPARK_KINDS]
    if not todo:
        return done, keys
    fresh: dict[int, CheckOutcome] = {}
    try:
        con = connect(target, attach_db=False)
    except Exception:
        return done, keys  # Spark reads the data itself
    try:
        ctx = EvalContext(target, con)
        fresh.update(engine._proven_by_sql(ctx, todo))
        for i, check in todo:
            if i not in fresh and check.kind in ROW_PREDICATE_KINDS | {"row_count"}:
                outcome = shortcuts.settle_from_footer(ctx, check)
                if outcome is not None:
                    fresh[i] = outcome
    except Exception:
        pass  # an unreadable footer: Spark (or DuckDB) reports the problem
    finally:
        con.close()
    for i, outcome in fresh.items():
        method = str(outcome.metadata.get("method", ""))
        done[i] = _with_reason(
            replace(outcome, metadata={**outcome.metadata, "engine": _NO_JOB_ENGINE.get(method, "duckdb")})
        )
        if cache is not None and i in keys:
            cache.put(keys[i], done[i])
    return done, keys


def _with_reason(outcome: CheckOutcome) -> CheckOutcome:
    """The one-line failure reason the DuckDB evaluator adds (suggestions group by it)."""
    from datacody_dagster.checks import engine

    add = getattr(engine, "_with_reason", None)
    return add(outcome) if callable(add) else outcome
