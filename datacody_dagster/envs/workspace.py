"""An environment's dbt project and DuckDB file, so that dbt builds its models there.

dbt-duckdb takes a model's output path from the model's config, which dbt reads when it parses
the project; an environment therefore gets its own dbt project, ``data/.datacody/envs/workspaces/NAME/dbt/``:
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
from typing import Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node, ProjectPlan
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.env_state import ENVS_DIR, STATE_DIR, check_env_name, env_output_root

WORKSPACES_DIR = f"{STATE_DIR}/workspaces"
"""Environments' dbt projects, apart from the states and apply's records beside them."""
# dbt's own folders and the generated models: never copied from prod's dbt project.
_NOT_COPIED = ("target", "logs", "dbt_packages", ".user.yml")
_PROFILE = Path("profiles.yml")
_GENERATED = Path("models/datacody")


def env_root(root: Path, env: str) -> Path:
    """The environment's outputs: ``data/envs/NAME/``."""
    return env_output_root(root, env)


def env_relpath(env: str, node: Node) -> str:
    return node.output_relpath(f"{ENVS_DIR}/{env}")


def workspace_dir(root: Path, env: str) -> Path:
    """The environment's dbt project and DuckDB file (``data/.datacody/envs/workspaces/NAME/``)."""
    return root / WORKSPACES_DIR / check_env_name(env)


def remove_tree(path: Path, inside: Path) -> None:
    """``shutil.rmtree(path)``, refused unless ``path`` lies strictly inside ``inside`` (a name or a
    symlink must never turn an environment's cleanup into a deletion of prod or of records)."""
    if not path.exists() and not path.is_symlink():
        return
    real, parent = path.resolve(), inside.resolve()
    if path.is_symlink() or real == parent or not real.is_relative_to(parent):
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"refusing to delete {path}: it is not a folder inside {inside}",
                hint="remove it by hand if it is really an environment's leftover",
            )
        )
    shutil.rmtree(real)


def _dbt_model(node: Node) -> bool:
    return node.runs_in_dbt


def env_project(project: CompiledProject, env: str, rebuild: list[str]) -> CompiledProject:
    """``project`` writing ``rebuild`` into the environment and reading the rest from prod,
    with dbt running the environment's own dbt project and DuckDB file.

    A rebuilt view is stored as a table there: promoting it must not need prod's DuckDB file.
    """
    names = set(rebuild)
    nodes = tuple(
        replace(n, materialized="table") if n.name in names and n.is_dbt_view else n
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
    """The environment's dbt project (a mirror of prod's user files; generated files are synced
    by the run), its output folders, and its DuckDB file with views over prod for the models not
    rebuilt."""
    src = prod.root / prod.settings.dbt_project_dir
    dst = envp.root / envp.settings.dbt_project_dir
    dst.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        _mirror(src, dst)
        _link_packages(src, dst)
        prod_db = prod.root / prod.settings.duckdb_path
        _write_profile(
            src / "profiles.yml", dst / "profiles.yml", envp.root / envp.settings.duckdb_path, prod_db
        )
    for group in envp.plan.groups():
        (env_root(envp.root, envp.env) / group).mkdir(parents=True, exist_ok=True)
    _write_prod_views(envp)


def _skipped(rel: Path) -> bool:
    """dbt's own state, the generated models (synced by the run) and the profile (generated)."""
    return rel.parts[0] in _NOT_COPIED or rel.parts[:2] == _GENERATED.parts or rel == _PROFILE


def _tree(folder: Path, follow: bool) -> tuple[set[Path], set[Path]]:
    """(files, folders) under ``folder``, relative to it, without the skipped parts."""
    files: set[Path] = set()
    dirs: set[Path] = set()
    for here, subdirs, names in os.walk(folder, followlinks=follow):
        base = Path(here).relative_to(folder)
        subdirs[:] = [d for d in subdirs if not _skipped(base / d)]
        dirs.update(base / d for d in subdirs)
        files.update(base / n for n in names if not _skipped(base / n))
    return files, dirs


def _mirror(src: Path, dst: Path) -> None:
    """Make ``dst`` hold prod's dbt files and no others: a macro or model removed from prod must
    not keep shaping the env's builds. Unchanged files keep their mtime (dbt's partial parse)."""
    files, dirs = _tree(src, follow=True)  # a linked macros folder is copied, as dbt reads it
    old_files, old_dirs = _tree(dst, follow=False)
    for rel in sorted(old_files - files):
        (dst / rel).unlink()
    for rel in sorted(old_dirs - dirs - {_GENERATED.parent}, key=lambda p: len(p.parts), reverse=True):
        remove_tree(dst / rel, dst)
    for rel in sorted(dirs):
        (dst / rel).mkdir(parents=True, exist_ok=True)
    for rel in files:
        a, b = src / rel, dst / rel
        sa = a.stat()
        sb = b.stat() if b.exists() else None
        if sb is None or (sa.st_size, sa.st_mtime_ns) != (sb.st_size, sb.st_mtime_ns):
            shutil.copy2(a, b)


def _link_packages(src: Path, dst: Path) -> None:
    """Prod's installed dbt packages (``dbt deps``), linked: a project with ``packages.yml``
    parses in the env without installing them again."""
    link, target = dst / "dbt_packages", src / "dbt_packages"
    if link.is_symlink() and (not target.is_dir() or link.resolve() != target.resolve()):
        link.unlink()
    elif link.is_dir() and not link.is_symlink():
        remove_tree(link, dst)
    if target.is_dir() and not link.is_symlink():
        link.symlink_to(target.resolve(), target_is_directory=True)


def _write_profile(src: Path, dst: Path, duckdb_file: Path, prod_db: Path | None = None) -> None:
    """Prod's profile with every DuckDB output's ``path`` set to the env's file: a hand-edited
    literal path must not let the env's dbt run write prod's DuckDB file. Its ``attach:``
    entries are redirected (:func:`_env_attach`)."""
    import yaml

    if not src.is_file():
        dst.unlink(missing_ok=True)
        return
    text = src.read_text(encoding="utf-8")
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None  # dbt reports it, located, when it parses the profile
    outputs = ((doc.get("datacody") or {}).get("outputs") if isinstance(doc, dict) else None) or {}
    if isinstance(outputs, dict):
        for name, out in outputs.items():
            if isinstance(out, dict) and out.get("type") == "duckdb":
                out["path"] = str(duckdb_file)
                attach = out.get("attach")
                if isinstance(attach, list):
                    where = f"{src.parent.name}/{src.name}: outputs.{name}.attach"
                    out["attach"] = [_env_attach(a, src.parent, prod_db, where) for a in attach]
        if outputs:
            text = "# generated by datacody for this environment from prod's profiles.yml\n"
            text += yaml.safe_dump(doc, sort_keys=False)
    if not dst.is_file() or dst.read_text(encoding="utf-8") != text:
        dst.write_text(text, encoding="utf-8")


def _env_attach(entry: Any, prod_dbt: Path, prod_db: Path | None, where: str) -> Any:
    """An ``attach:`` entry of prod's profile as the env's dbt run gets it: read-only, and a
    relative file path made absolute against prod's dbt project (dbt resolves it against its
    working directory, the env's dbt project, where it would attach a new, empty file). Only a
    file database's path (no ``type``, ``duckdb`` or ``sqlite``) is a file: a postgres or mysql
    ``path`` is a connection string, passed on as it is; ``~`` is the user's home.

    Reads of attached databases are inputs, as prod's sources are: they keep working. A model
    that writes into one fails on DuckDB's read-only error rather than writing a database prod
    reads. Prod's own DuckDB file is refused: the env reads prod through its own views, and a
    read-only attach of a file prod's runs write would fail on its lock during every prod run."""
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        return entry
    path = entry["path"]
    is_file = str(entry.get("type") or "duckdb").lower() in {"duckdb", "sqlite"}
    if is_file and "://" not in path and ":" not in path.split("/")[0] and "{{" not in path:
        resolved = (prod_dbt / Path(path).expanduser()).resolve()
        if prod_db is not None and resolved == prod_db.resolve():
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"{where}: attaches prod's DuckDB file {path!r}, which an environment build "
                    "must not open (it reads prod's outputs through its own views)",
                    hint="remove that attach entry, or read prod's assets by name (`ref()`)",
                )
            )
        path = str(resolved)
    return {**entry, "path": path, "read_only": True}


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
            if not node.is_dbt_view:
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
    file, and the project root (the profile's default is relative to prod's dbt project); and
    dbt's target and log folders, the env's own: a `target-path`/`log-path` in the mirrored
    dbt_project.yml or a DBT_TARGET_PATH set for prod must not send the env's artifacts
    (run_results.json, partial parse state, dbt.log) to prod's (the variables beat the file)."""
    dbt_dir = envp.root / envp.settings.dbt_project_dir
    wanted = {
        "DATACODY_DUCKDB_PATH": str(envp.root / envp.settings.duckdb_path),
        "DATACODY_PROJECT_ROOT": str(envp.root),
        "DBT_TARGET_PATH": str(dbt_dir / "target"),
        "DBT_LOG_PATH": str(dbt_dir / "logs"),
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
