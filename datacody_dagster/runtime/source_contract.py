"""A source's load contract: the columns it must have, checked on the staged candidate.

The expected columns are the declared `columns:` of the source, else those of its last
published output. A file that lacks any of them, brings columns that were not there, or holds
no rows is rejected with the file, the spec's ``file:line`` and the column differences; the
candidate is discarded, so the published output stays byte-identical. An intended change is
accepted by editing `columns:` or, for one run, with the ``datacody/accept_schema_change`` run
tag (`datacody materialize --accept-schema-change`).
"""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

ACCEPT_SCHEMA_CHANGE_TAG = "datacody/accept_schema_change"


def _columns_and_rows(path: Path) -> tuple[list[str], int]:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    return list(meta.schema.to_arrow_schema().names), int(meta.num_rows)


def expected_columns(project: CompiledProject, node: Node) -> tuple[list[str] | None, str]:
    """The columns a new load must have, and where that expectation comes from."""
    if node.declared_columns:
        return list(node.declared_columns), "its `columns:`"
    published = project.output_path(node)
    if published.is_file():
        return _columns_and_rows(published)[0], "its last published output"
    return None, ""


def _reject(node: Node, problem: str, hint: str) -> DatacodyError:
    return DatacodyError(
        Diagnostic(RUNTIME, f"source `{node.name}`: {node.source_path} {problem}", node.location, hint)
    )


def _cut_last_row(project: CompiledProject, node: Node) -> tuple[int, int] | None:
    """(fields in the last line, fields in the header) when a CSV ends in a cut row."""
    import csv

    if node.source_format != "csv" or not node.source_path or any(ch in node.source_path for ch in "*?["):
        return None
    path = project.root / node.source_path
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.readline()
            fh.seek(max(0, size - 65536))
            tail = fh.read()
    except OSError:
        return None
    if not tail or tail.endswith(b"\n") or b"\n" not in tail:
        return None  # ends cleanly (or is one line: the header)
    delim = str(node.source_options.get("delim") or node.source_options.get("sep") or ",")
    header = next(csv.reader([head.decode("utf-8", "replace")], delimiter=delim), [])
    last = next(csv.reader([tail.rsplit(b"\n", 1)[1].decode("utf-8", "replace")], delimiter=delim), [])
    return (len(last), len(header)) if len(last) < len(header) else None


def enforce_contract(project: CompiledProject, node: Node, staged: Path, accept_change: bool = False) -> None:
    """Raise a :class:`DatacodyError` when the staged load breaks the source's contract."""
    if not staged.is_file():
        return
    cut = _cut_last_row(project, node)
    if cut is not None:
        raise _reject(
            node,
            f"ends in a cut row (rows cut short: its last line has {cut[0]} of {cut[1]} fields)",
            "the previous output is kept; the file was probably copied while being written",
        )
    actual, rows = _columns_and_rows(staged)
    if rows == 0:
        raise _reject(
            node, "is empty (0 rows)", "the previous output is kept; check the export that wrote the file"
        )
    expected, origin = expected_columns(project, node)
    if expected is None or accept_change:
        return
    missing = [c for c in expected if c not in actual]
    extra = [] if node.declared_columns else [c for c in actual if c not in expected]
    if not missing and not extra:
        return
    parts = []
    if missing:
        parts.append(
            "lacks column" + ("s " if len(missing) > 1 else " ") + ", ".join(f"`{c}`" for c in missing)
        )
    if extra:
        parts.append(
            "has new column" + ("s " if len(extra) > 1 else " ") + ", ".join(f"`{c}`" for c in extra)
        )
    one_column = len(actual) == 1 and len(expected) > 1
    note = " (rows cut short make the reader see one column)" if one_column else ""
    raise _reject(
        node,
        f"{' and '.join(parts)} compared with {origin} (read: {', '.join(actual)}){note}",
        "the previous output is kept; fix the file, or accept an intended change by editing "
        "`columns:` or with `datacody materialize --accept-schema-change`",
    )
