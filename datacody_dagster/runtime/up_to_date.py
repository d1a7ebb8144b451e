"""Which selected assets must be rebuilt, and which are up to date (nothing to redo).

An asset is up to date when, since its last materialization: its code version (the plan's
fingerprint) and its checks are the same, that materialization passed its blocking checks, its
output is still there and intact, its input files (raw source files, a Python transform's module)
are unchanged, and each upstream's current data version is the one it was built from (Dagster's
``dagster/input_data_version/...`` tags, the DVC md5 for stored outputs). Anything downstream of
a rebuilt asset is rebuilt too. These are the versions Dagster's UI uses for "stale", so
"Materialize changed and missing" there agrees with `datacody materialize`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.run_markers import ENV_BUILD_KEY
from datacody_dagster.runtime import input_files

if TYPE_CHECKING:
    import dagster as dg

UP_TO_DATE = "up to date"
CHECKS_VERSION_KEY = "datacody/checks_version"
MTIME_KEY = "datacody/mtime_ns"


@dataclass(frozen=True)
class Verdict:
    name: str
    rebuild: bool
    reason: str  # why it is rebuilt, or UP_TO_DATE
    rows: int | None = None  # row count of the last materialization (shown for skipped assets)


def checks_version(node: Node) -> str:
    """A digest of the node's checks: changing a check re-evaluates it (with a rebuild)."""
    items = sorted(
        (c.name, c.kind, c.severity, json.dumps(c.arg_dict, sort_keys=True, default=str)) for c in node.checks
    )
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]


def _meta(entry: Any) -> dict[str, Any]:
    mat = entry.asset_materialization
    return {k: getattr(v, "value", v) for k, v in (mat.metadata or {}).items()}


def _tags(entry: Any) -> Mapping[str, str]:
    return entry.asset_materialization.tags or {}


def _output_problem(
    project: CompiledProject, node: Node, meta: Mapping[str, Any], views: set[str] | None
) -> str | None:
    """Why the stored output cannot be reused (missing, changed by hand), or None."""
    if node.is_dbt_view:
        return None if views is None or node.name in views else "output missing"
    path = project.output_path(node)
    if path.is_dir():
        return None if any(path.rglob("*.parquet")) else "output missing"
    if not path.is_file():
        return "output missing"
    st = path.stat()
    if st.st_size == meta.get("datacody/size_bytes") and st.st_mtime_ns == meta.get(MTIME_KEY):
        return None
    md5 = meta.get("datacody/dvc_md5")
    from datacody_dagster.checks.history import file_md5  # here: the no-op path stays free of DuckDB

    if md5 and st.st_size == meta.get("datacody/size_bytes") and file_md5(path) == md5:
        return None  # copied or touched, same bytes
    return "output changed since it was written"


def _duckdb_views(project: CompiledProject, names: set[str]) -> set[str] | None:
    """Views present in the project's DuckDB file (None when it cannot be read now)."""
    db = project.root / project.settings.duckdb_path
    if not names:
        return set()
    if not db.exists():
        return set()
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:  # a writer holds the file: trust the event log
        return None
    try:
        rows = con.execute("select view_name from duckdb_views() where not internal").fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def decide(
    project: CompiledProject,
    instance: dg.DagsterInstance,
    names: Sequence[str],
    force: bool = False,
) -> dict[str, Verdict]:
    """One verdict per selected asset (``names`` in topological order)."""
    import dagster as dg

    nodes = [project.plan.node(n) for n in names]
    if force:
        return {n.name: Verdict(n.name, True, "forced") for n in nodes}
    keys = [dg.AssetKey([n]) for n in sorted(wanted_records(nodes))]
    latest = instance.get_latest_materialization_events(keys)
    records = {key.to_user_string(): entry for key, entry in latest.items() if entry is not None}
    return decide_from_records(project, names, records)


def wanted_records(nodes: Sequence[Node]) -> set[str]:
    """The assets whose latest materialization the verdicts of ``nodes`` read."""
    return {n.name for n in nodes} | {d for n in nodes for d in n.deps}


def decide_from_records(
    project: CompiledProject, names: Sequence[str], records: Mapping[str, Any]
) -> dict[str, Verdict]:
    """The verdicts from each asset's latest materialization entry (an ``EventLogEntry`` or any
    object with its ``asset_materialization.tags`` and ``.metadata``), absent when never done."""
    nodes = [project.plan.node(n) for n in names]
    view_names = {n.name for n in nodes if n.is_dbt_view and n.name in records}
    views = _duckdb_views(project, view_names)
    verdicts: dict[str, Verdict] = {}
    for node in nodes:
        verdicts[node.name] = _verdict(project, node, records, verdicts, views)
    return verdicts


def _verdict(
    project: CompiledProject,
    node: Node,
    records: Mapping[str, Any],
    earlier: Mapping[str, Verdict],
    views: set[str] | None,
) -> Verdict:
    entry = records.get(node.name)
    if entry is None:
        return Verdict(node.name, True, "never materialized")
    tags, meta = _tags(entry), _meta(entry)
    # Only an instance written before environments had their own keys holds one on prod's key.
    if meta.get(ENV_BUILD_KEY) not in (None, project.env):
        return Verdict(node.name, True, f"last built in env `{meta.get(ENV_BUILD_KEY)}`")
    if tags.get("dagster/code_version") != node.fingerprint:
        return Verdict(node.name, True, "code changed")
    if meta.get(CHECKS_VERSION_KEY, checks_version(node)) != checks_version(node):
        return Verdict(node.name, True, "checks changed")
    if meta.get("datacody/blocking_failures"):
        return Verdict(node.name, True, "blocking checks failed last time")
    problem = _output_problem(project, node, meta, views)
    if problem:
        return Verdict(node.name, True, problem)
    for dep in node.deps:
        if dep in earlier and earlier[dep].rebuild:
            return Verdict(node.name, True, f"upstream `{dep}` is rebuilt")
        upstream = records.get(dep)
        current = _tags(upstream).get("dagster/data_version") if upstream is not None else None
        if current is None or tags.get(f"dagster/input_data_version/{dep}") != current:
            return Verdict(node.name, True, f"upstream `{dep}` changed")
    if (node.is_source or node.kind == "python") and input_files.changed(
        project, node, meta.get(input_files.METADATA_KEY)
    ):
        return Verdict(node.name, True, "input file changed")
    rows = meta.get("dagster/row_count")
    return Verdict(node.name, False, UP_TO_DATE, int(rows) if isinstance(rows, int) else None)
