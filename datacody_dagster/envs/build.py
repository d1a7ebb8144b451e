"""Build a plan's rebuild list into ``data/envs/NAME/`` and audit it there.

The rebuild list is materialized by a Dagster run through the same path as `datacody
materialize` (dbt for SQL models, the same writers, checks and write-audit-publish); rebuilt
assets write to the environment's folder, everything else is read from prod in place (no copy).
A blocking failure stops its readers, and each output is diffed by row against prod's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.envs.plan import EnvPlan
from datacody_dagster.envs.records import wipe_env_records
from datacody_dagster.envs.workspace import (
    ENVS_DIR,
    dbt_environment,
    env_project,
    env_relpath,
    env_root,
    prepare_workspace,
    remove_tree,
)
from datacody_dagster.errors import DatacodyError
from datacody_dagster.run_markers import ENV_KEY_PREFIX
from datacody_dagster.runtime.env_run import output_md5
from datacody_dagster.runtime.summary import AssetRow
from datacody_dagster.versioning.diff import VersionDiff
from datacody_dagster.versioning.env_state import EnvState, asset_state, check_env_name, save_state

CheckRow = tuple[str, bool, bool]  # (check name, passed, blocking), as the run reports it

__all__ = [
    "ENVS_DIR",
    "BuiltAsset",
    "EnvBuild",
    "build_env",
    "env_relpath",
    "env_root",
    "unique_key",
]


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
    run_id: str | None = None
    """The Dagster run that built the environment (None: nothing to rebuild)."""

    @property
    def blocking_failures(self) -> list[str]:
        out = [f"{a.asset}: {c}" for a in self.assets for c in a.blocking_failed]
        return out + [f"{a.asset}: {a.status}" for a in self.assets if a.status != "built"]


def unique_key(node: Node) -> tuple[str, ...] | None:
    """The diff key of an asset: its first `unique` check, its incremental key, or a key its SQL
    makes unique (GROUP BY columns)."""
    unique = next((tuple(c.columns) for c in node.checks if c.kind == "unique"), None)
    proven = node.proven_unique_keys[0] if node.proven_unique_keys else None
    return unique or node.incremental_key or proven or None


def _rows(path: Path) -> int | None:
    import duckdb

    from datacody_dagster.versioning.diff import path_relation

    if not path.exists():
        return None
    con = duckdb.connect()
    try:
        return int(con.execute(f"select count(*) from {path_relation(path)}").fetchall()[0][0])
    finally:
        con.close()


def _built(
    project: CompiledProject, envp: CompiledProject, node: Node, row: AssetRow, checks: list[CheckRow]
) -> BuiltAsset:
    """An asset the run published in the environment, diffed against prod's output."""
    from datacody_dagster.versioning.diff import diff_paths

    out = envp.output_path(node)
    failed = tuple(name for name, ok, _ in checks if not ok)
    blocking = tuple(name for name, ok, blocks in checks if not ok and blocks)
    prod = project.output_path(node)
    diff = None
    if prod.exists() and not node.is_dbt_view:
        diff = diff_paths(prod, out, unique_key(node))
    rows = diff.new_rows if diff else row.rows
    return BuiltAsset(
        node.name,
        "built",
        round(row.seconds or 0.0, 3),
        rows if rows is not None else _rows(out),
        output_md5(out),
        len(checks) - len(failed),
        failed,
        blocking,
        diff=diff,
    )


def _not_built(
    node: Node, row: AssetRow | None, checks: list[CheckRow], errors: list[str], stopped: set[str]
) -> BuiltAsset:
    """Why an asset of the rebuild list has no output in the environment."""
    failed = tuple(name for name, ok, _ in checks if not ok)
    blocking = tuple(name for name, ok, blocks in checks if not ok and blocks)
    upstream = [d for d in node.deps if d in stopped]
    if blocking:  # its candidate is quarantined in the environment's folder
        return BuiltAsset(
            node.name,
            "failed",
            checks_passed=len(checks) - len(failed),
            checks_failed=failed,
            blocking_failed=blocking,
            error="blocking checks failed",
        )
    if upstream:
        return BuiltAsset(node.name, "skipped", error=f"upstream {', '.join(upstream)} failed")
    mine = [own for e in errors if (own := _own_error(e, node.name))]
    error = (mine or errors or [f"not materialized ({row.status if row else 'not run'})"])[0]
    return BuiltAsset(node.name, "failed", error=error)


def _own_error(error: str, name: str) -> str | None:
    """``name``'s part of a run error: a dbt step reports its failed models as ``NAME: message``
    lines, one step failure for all of them."""
    lines = error.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{name}: "):
            rest = [x for x in lines[i + 1 :] if x.startswith((" ", "\t")) or not x.strip()]
            return "\n".join([line.removeprefix(f"{name}: "), *rest]).strip()
    return error if f"`{name}`" in error else None


def build_env(
    project: CompiledProject, plan: EnvPlan, prod: EnvState | None, verbose: bool = False
) -> EnvBuild:
    """Build ``plan.rebuild`` into ``data/envs/<plan.env>/`` with a Dagster run (the run path of
    ``datacody materialize``: its engines, dbt, checks and blocking rules), audit it, save the
    env's state. The run is tagged ``datacody/env: NAME`` and leaves prod's outputs, DVC history,
    state and up-to-date decisions alone (``runtime/env_run.py``)."""
    from datacody_dagster.envs.lock import env_lock

    env = check_env_name(plan.env)
    with env_lock(project.root, env, f"datacody plan --env {env}"):
        return _build_env(project, plan, prod, verbose)


def _build_env(project: CompiledProject, plan: EnvPlan, prod: EnvState | None, verbose: bool) -> EnvBuild:
    from datacody_dagster.runtime.materialize import materialize_project

    env = plan.env
    build = EnvBuild(env, plan)
    folder = env_root(project.root, env)
    # A re-plan starts from prod again: no stale outputs of an older plan, nor their records.
    remove_tree(folder, project.root / ENVS_DIR)
    wipe_env_records(project.root, env)
    if not plan.rebuild:
        _save(project, env_project(project, env, []), build, prod)
        return build
    envp = env_project(project, env, plan.rebuild)
    # Until the run ends the env holds no audited build: a build killed midway is never applied.
    unfinished = [BuiltAsset(name, "failed", error="the build did not finish") for name in plan.rebuild]
    _save(project, envp, EnvBuild(env, plan, unfinished), prod)
    prepare_workspace(project, envp)
    # The run records on the environment's keys (env/NAME/<asset>, emit/dagster.py run_key).
    select = " or ".join(f'key:"{ENV_KEY_PREFIX}/{env}/{name}"' for name in plan.rebuild)
    try:
        with dbt_environment(envp):
            summary = materialize_project(project.root, select=select, project=envp, verbose=verbose)
    except DatacodyError as exc:  # no run (a held writer pool, a bad profile): nothing to promote
        message = "; ".join(d.message for d in exc.diagnostics)
        build.assets = [BuiltAsset(name, "failed", error=message) for name in plan.rebuild]
        _save(project, envp, build, prod)
        raise
    build.run_id = summary.run_id
    rows = {r.asset: r for r in summary.rows}
    stopped: set[str] = set()
    for node in envp.plan.nodes:
        if node.name not in plan.rebuild:
            continue
        row, checks = rows.get(node.name), summary.checks.get(node.name, [])
        if row is not None and row.status == "materialized":
            built = _built(project, envp, node, row, checks)
        else:
            built = _not_built(node, row, checks, summary.errors, stopped)
        if built.status != "built" or built.blocking_failed:
            stopped.add(node.name)
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
