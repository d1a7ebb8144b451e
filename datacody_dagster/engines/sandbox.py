"""DuckDB confinement of spec SQL: the engine's own sandbox, not pattern matching.

Every DuckDB connection that runs text from a spec (asset SQL through dbt-duckdb, `sql:` and
`expression:` checks, source reader options, `filter:` steps) is confined here. The recipe
(verified on DuckDB 2.0.1, in this order, because each step forbids the one before it):

1. ``allowed_directories`` = the project's data folders (raw inputs, warehouse, database);
2. ``enable_external_access = false``: no file, URL, ATTACH or COPY outside those folders;
3. ``lock_configuration = true``: the SQL cannot set any of it back;

and, before all of them, no automatic extension install/load (``httpfs`` would fetch code).
A project opts out only with ``allow_external_access: true`` in ``resources/<env>.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

NO_AUTOLOAD: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
"""Connection config that keeps DuckDB from downloading or loading extensions on its own."""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def data_directories(root: Path, settings: Any, extra: Iterable[Path] = ()) -> list[Path]:
    """The folders spec SQL may read and write: ``data/``, the warehouse, the database's folder."""
    root = Path(root).resolve()
    dirs = {
        (root / "data").resolve(),
        (root / settings.warehouse_dir).resolve(),
        (root / settings.duckdb_path).parent.resolve(),
        *(Path(p).resolve() for p in extra),
    }
    # A folder inside another adds nothing.
    return sorted(d for d in dirs if not any(o != d and d.is_relative_to(o) for o in dirs))


def confine(con: Any, directories: Sequence[Path]) -> Any:
    """Apply the sandbox to an open connection (any database attached before stays usable)."""
    for key, value in NO_AUTOLOAD.items():
        con.execute(f"SET {key} = {str(value).lower()}")
    listed = ", ".join(_sql_string(str(d).rstrip("/") + "/") for d in directories)
    con.execute(f"SET allowed_directories = [{listed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def confined_connection(directories: Sequence[Path] | None, database: str = ":memory:") -> Any:
    """A new DuckDB connection confined to ``directories`` (``None``: the project opted out)."""
    import duckdb

    con = duckdb.connect(database, config=dict(NO_AUTOLOAD))
    if directories is not None:
        confine(con, directories)
    return con


def project_directories(project: Any, extra: Iterable[Path] = ()) -> list[Path] | None:
    """Sandbox folders of a compiled project, or None when it opted out of confinement."""
    if getattr(project.settings, "allow_external_access", False):
        return None
    from datacody_dagster.compiler.paths import STDLIB_SCHEME, static_prefix

    sources = [
        project.root / static_prefix(node.source_path)
        for node in project.plan.nodes
        if node.is_source and node.source_path and not node.source_path.startswith(STDLIB_SCHEME)
    ]
    folders = [p if p.is_dir() else p.parent for p in sources]
    return data_directories(project.root, project.settings, [*folders, *extra])


def require_inside(project: Any, paths: Iterable[Path], location: Any = None) -> None:
    """Raise unless every path resolves (symlinks followed) inside the project's data folders.

    For engines without a sandbox of their own (Spark): paths are checked before they get them.
    """
    from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

    directories = project_directories(project)
    if directories is None:
        return
    for path in paths:
        resolved = Path(path).resolve()
        if not any(resolved.is_relative_to(d) for d in directories):
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"{path} resolves outside the project's data folders",
                    location,
                    "keep data under data/ (or set `allow_external_access: true` in resources/<env>.yaml)",
                )
            )
