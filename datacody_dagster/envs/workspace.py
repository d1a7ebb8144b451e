"""An environment's dbt project and DuckDB file, so that dbt builds its models there.

dbt-duckdb takes a model's output path from the model's config, which dbt reads when it parses
the project; an environment therefore gets its own dbt project, ``data/.datacody/envs/NAME/dbt/``:
the user's dbt files (profile, macros, hand-written models) copied, the generated models emitted
with the environment's output paths. Its parse state stays there between plans, so prod's
manifest is never re-parsed for an environment, nor the other way round.

dbt's ``ref()`` reads a model's relation in the DuckDB file. The environment's own file holds a
view for each model it does not rebuild, reading prod's output in place (no copy), and dbt
creates the rebuilt ones; prod's file is never opened for writing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node, ProjectPlan
from datacody_dagster.versioning.env_state import STATE_DIR, check_env_name

ENVS_DIR = "data/envs"
# dbt's own folders and the generated models: never copied from prod's dbt project.
_NOT_COPIED = ("target", "logs", "dbt_packages", ".user.yml")


def env_root(root: Path, env: str) -> Path:
    """The environment's outputs: ``data/envs/NAME/``."""
    return root / ENVS_DIR / check_env_name(env)


def env_relpath(env: str, node: Node) -> str:
    return node.output_relpath(f"{ENVS_DIR}/{env}")


def workspace_dir(root: Path, env: str) -> Path:
    """The environment's dbt project and DuckDB file (``data/.datacody/envs/NAME/``)."""
    return root / STATE_DIR / check_env_name(env)


def _dbt_model(node: Node) -> bool:
    return node.kind == "sql" and node.engine == "duckdb"


def env_project(project: CompiledProject, env: str, rebuild: list[str]) -> CompiledProject:
    """``project`` writing ``rebuild`` into the environment and reading the rest from prod,
    with dbt running the environment's own dbt project and DuckDB file.

    A rebuilt view is stored as a table there: promoting it must not need prod's DuckDB file.
    """
    names = set(rebuild)
    nodes = tuple(
        replace(n, materialized="table") if n.name in names and n.materialized == "view" else n
        for n in project.plan.nodes
    )
    overrides = {n.name: env_relpath(env, n) for n in nodes if n.name in names}
    space = workspace_dir(project.root, env).relative_to(project.root).as_posix()
    settings = project.settings.model_copy(
        update={
            "dbt_project_dir": f"{space}/dbt",
            "duckdb_path": f"{space}/{Path(project.settings.duckdb_path).name}",
        }
    )
    return replace(project, settings=settings, plan=ProjectPlan(nodes), env=env, output_overrides=overrides)


def prepare_workspace(prod: CompiledProject, envp: CompiledProject) -> None:
    """The environment's dbt project (prod's user files; generated files are synced by the run),
    its output folders, and its DuckDB file with views over prod for the models not rebuilt."""
    src = prod.root / prod.settings.dbt_project_dir
    dst = envp.root / envp.settings.dbt_project_dir
    dst.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        generated = src / "models" / "datacody"
        shutil.copytree(
            src,
            dst,
            dirs_exist_ok=True,
            ignore=lambda folder, names: [
                n for n in names if n in _NOT_COPIED or Path(folder, n) == generated
            ],
        )
    for group in envp.plan.groups():
        (env_root(envp.root, envp.env) / group).mkdir(parents=True, exist_ok=True)
    _write_prod_views(envp)


def _write_prod_views(envp: CompiledProject) -> None:
    import duckdb

    from datacody_dagster.compiler.sql import SqlProblem, parse_select, rewrite_table_refs
    from datacody_dagster.engines.relations import relation_for
    from datacody_dagster.engines.sandbox import confine, project_directories

    db = envp.root / envp.settings.duckdb_path
    db.unlink(missing_ok=True)  # views of an older plan may point at its rebuilt outputs
    db.with_name(db.name + ".wal").unlink(missing_ok=True)
    reused = [n for n in envp.plan.nodes if _dbt_model(n) and n.name not in envp.output_overrides]
    con = duckdb.connect(str(db))
    try:
        dirs = project_directories(envp)
        if dirs is not None:
            confine(con, dirs)
        for node in reused:  # topological order: a view's upstream views exist before it
            if node.materialized != "view":
                body = f"select * from {relation_for(envp, node)}"
            else:
                assert node.sql is not None
                query = parse_select(node.sql)
                if isinstance(query, SqlProblem):
                    continue  # the plan validated it; an unparsable view cannot be read anyway
                deps = set(node.deps)

                def relation(name: str, deps: set[str] = deps) -> str | None:
                    if name not in deps:
                        return None
                    dep = envp.plan.node(name)
                    return f'main."{name}"' if _dbt_model(dep) else relation_for(envp, dep)

                body = rewrite_table_refs(query, relation)
            try:
                con.execute(f'create or replace view main."{node.name}" as {body}')
            except duckdb.Error:
                # Prod has no output for it (never materialized): a model reading it fails in
                # dbt with the model's own located error, as it would in prod.
                continue
    finally:
        con.close()


@contextlib.contextmanager
def dbt_environment(envp: CompiledProject) -> Iterator[None]:
    """The variables the dbt profile reads, pointed at the environment for the run: its DuckDB
    file, and the project root (the profile's default is relative to prod's dbt project)."""
    wanted = {
        "DATACODY_DUCKDB_PATH": str(envp.root / envp.settings.duckdb_path),
        "DATACODY_PROJECT_ROOT": str(envp.root),
    }
    previous = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
