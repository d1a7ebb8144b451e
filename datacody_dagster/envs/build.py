"""Build a plan's rebuild list into ``data/envs/NAME/`` and audit it there.

Rebuilt assets write to the environment's folder; everything else is read from prod in place
(no copy). Each built asset's checks run on the environment's output, a blocking failure stops
its readers from being built, and each output is diffed by row against prod's.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node, ProjectPlan
from datacody_dagster.envs.plan import EnvPlan
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.diff import VersionDiff
from datacody_dagster.versioning.env_state import EnvState, asset_state, check_env_name, save_state

ENVS_DIR = "data/envs"


def env_root(root: Path, env: str) -> Path:
    return root / ENVS_DIR / check_env_name(env)


def env_relpath(env: str, node: Node) -> str:
    return node.output_relpath(f"{ENVS_DIR}/{env}")


def env_project(project: CompiledProject, env: str, rebuild: list[str]) -> CompiledProject:
    """``project`` writing ``rebuild`` into the environment and reading the rest from prod.

    A rebuilt view is stored as a table there: the environment has no DuckDB file of its own.
    """
    names = set(rebuild)
    nodes = tuple(
        replace(n, materialized="table") if n.name in names and n.materialized == "view" else n
        for n in project.plan.nodes
    )
    overrides = {n.name: env_relpath(env, n) for n in nodes if n.name in names}
    return replace(project, plan=ProjectPlan(nodes), env=env, output_overrides=overrides)


@dataclass(frozen=True)
class BuiltAsset:
    asset: str
    status: str  # built | failed | skipped
    seconds: float = 0.0
    rows: int | None = None
    data_version: str | None = None
    checks_passed: int = 0
    checks_failed: tuple[str, ...] = ()
    blocking_failed: tuple[str, ...] = ()
    error: str | None = None
    diff: VersionDiff | None = None


@dataclass
class EnvBuild:
    env: str
    plan: EnvPlan
    assets: list[BuiltAsset] = field(default_factory=list)

    @property
    def blocking_failures(self) -> list[str]:
        out = [f"{a.asset}: {c}" for a in self.assets for c in a.blocking_failed]
        return out + [f"{a.asset}: {a.status}" for a in self.assets if a.status != "built"]


def file_md5(path: Path) -> str | None:
    """DVC's md5 of a single-file output (folders: None)."""
    if not path.is_file():
        return None
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sql_into(project: CompiledProject, node: Node) -> None:
    from datacody_dagster.compiler.sql import SqlProblem, parse_select, rewrite_table_refs
    from datacody_dagster.engines.atomic import copy_query_to_parquet_atomic, discard, place, temp_sibling
    from datacody_dagster.engines.relations import connect_for_reading, relation_for

    assert node.sql is not None
    query = parse_select(node.sql)
    if isinstance(query, SqlProblem):
        raise DatacodyError(Diagnostic(RUNTIME, query.message, node.location))
    deps = set(node.deps)
    sql = rewrite_table_refs(
        query, lambda name: relation_for(project, project.plan.node(name)) if name in deps else None
    )
    out = project.output_path(node)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = connect_for_reading(project)
    try:
        if not node.partition_by:
            copy_query_to_parquet_atomic(con, sql, out)
            return
        tmp = temp_sibling(out)
        try:
            cols = ", ".join(f'"{c}"' for c in node.partition_by)
            literal = str(tmp).replace("'", "''")
            con.execute(f"copy ({sql}) to '{literal}' (format parquet, partition_by ({cols}))")
            place(tmp, out)
        except BaseException:
            discard(tmp)
            raise
    finally:
        con.close()


def produce_output(project: CompiledProject, node: Node) -> None:
    """Write ``node``'s output at ``project.output_path(node)`` with its engine (no Dagster run)."""
    project.output_path(node).parent.mkdir(parents=True, exist_ok=True)
    if node.kind == "source":
        from datacody_dagster.runtime.sources import load_source

        load_source(project, node)
    elif node.kind == "sql" and node.engine == "spark":
        from datacody_dagster.engines.spark import materialize_sql

        assert node.sql is not None
        inputs = {d: project.output_path(project.plan.node(d)) for d in node.deps}
        materialize_sql(node.sql, inputs, project.output_path(node), project.settings.spark)
    elif node.kind == "sql":
        _sql_into(project, node)
    elif node.kind == "python":
        from datacody_dagster.runtime.python_assets import run_python_asset

        run_python_asset(project, node)
    elif node.kind == "export":
        from datacody_dagster.semantic.export import write_export

        write_export(project, node, project.output_path(node))
    else:
        from datacody_dagster.steps import run_steps_asset

        assert node.from_asset is not None
        has_output_step = any("output" in step for step in node.steps)
        run_steps_asset(
            project.output_path(project.plan.node(node.from_asset)),
            node.steps,
            project.output_path(node),
            engine=node.engine,
            spark=project.settings.spark,
            partition_by=() if has_output_step else node.partition_by,
        )


def unique_key(node: Node) -> tuple[str, ...] | None:
    """The diff key of an asset: its first `unique` check, its incremental key, or a key its SQL
    makes unique (GROUP BY columns)."""
    unique = next((tuple(c.columns) for c in node.checks if c.kind == "unique"), None)
    proven = node.proven_unique_keys[0] if node.proven_unique_keys else None
    return unique or node.incremental_key or proven or None


def _audit(project: CompiledProject, envp: CompiledProject, node: Node, started: float) -> BuiltAsset:
    from datacody_dagster.checks import ResultCache, evaluate_checks
    from datacody_dagster.checks.targets import target_for
    from datacody_dagster.versioning.diff import diff_paths

    out = envp.output_path(node)
    version = file_md5(out)
    outcomes = evaluate_checks(
        target_for(envp, node, data_version=version),
        list(node.checks),
        cache=ResultCache.for_project(project.root),
    )
    failed = tuple(o.check.name for o in outcomes if not o.passed)
    blocking = tuple(o.check.name for o in outcomes if not o.passed and o.check.blocking)
    prod = project.output_path(node)
    diff = None
    if prod.exists() and not (node.kind == "sql" and node.materialized == "view"):
        diff = diff_paths(prod, out, unique_key(node))
    rows = diff.new_rows if diff else None
    if rows is None:
        import duckdb

        from datacody_dagster.versioning.diff import path_relation

        con = duckdb.connect()
        try:
            rows = int(con.execute(f"select count(*) from {path_relation(out)}").fetchall()[0][0])
        finally:
            con.close()
    return BuiltAsset(
        node.name,
        "built",
        round(time.monotonic() - started, 3),
        rows,
        version,
        len(outcomes) - len(failed),
        failed,
        blocking,
        diff=diff,
    )


def build_env(project: CompiledProject, plan: EnvPlan, prod: EnvState | None) -> EnvBuild:
    """Build ``plan.rebuild`` into ``data/envs/<plan.env>/``, audit it, and save the env's state."""
    env = check_env_name(plan.env)
    envp = env_project(project, env, plan.rebuild)
    folder = env_root(project.root, env)
    if folder.exists():  # a re-plan starts from prod again: no stale outputs of an older plan
        shutil.rmtree(folder)
    build = EnvBuild(env, plan)
    blocked: set[str] = set()
    for node in envp.plan.nodes:
        if node.name not in plan.rebuild:
            continue
        stopped = [d for d in node.deps if d in blocked]
        if stopped:
            blocked.add(node.name)
            build.assets.append(
                BuiltAsset(node.name, "skipped", error=f"upstream {', '.join(stopped)} failed")
            )
            continue
        started = time.monotonic()
        try:
            produce_output(envp, node)
            built = _audit(project, envp, node, started)
        except DatacodyError as exc:
            built = BuiltAsset(node.name, "failed", error="; ".join(d.message for d in exc.diagnostics))
        except Exception as exc:  # engines raise their own types; the env records the failure
            built = BuiltAsset(
                node.name, "failed", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            )
        if built.status != "built" or built.blocking_failed:
            blocked.add(node.name)
        build.assets.append(built)
    _save(project, envp, build, prod)
    return build


def _save(project: CompiledProject, envp: CompiledProject, build: EnvBuild, prod: EnvState | None) -> None:
    held = dict(prod.assets) if prod else {}
    versions = {a.asset: a.data_version for a in build.assets}
    assets = {}
    for node in project.plan.nodes:
        old = held.get(node.name)
        if node.name in versions:
            rel = envp.output_path(node).relative_to(project.root).as_posix()
            assets[node.name] = asset_state(node, versions[node.name], rel)
        elif old is not None:
            # Reused from prod: the same data, under the planned metadata.
            assets[node.name] = asset_state(node, old.data_version, old.path)
    state = EnvState(
        build.env,
        assets,
        plan_id=build.plan.plan_id,
        base_digest=build.plan.base_digest,
        blocking_failures=tuple(build.blocking_failures),
        promote=tuple(build.plan.rebuild),
        drop=tuple(build.plan.removed),
    )
    save_state(project.root, state)
