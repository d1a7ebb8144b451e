"""Known output columns per asset: from `columns:` contracts, SQL projections, CSV headers."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from datacody_dagster.compiler import sql as sqlmod
from datacody_dagster.compiler.index import ProjectIndex, source_header_columns
from datacody_dagster.spec import AssetSpecModel, SourceSpec


def topological_names(index: ProjectIndex) -> list[str]:
    """Names upstream-first (ties broken by name); cycles fall back to declaration order."""
    entries = index.by_name()
    graph = {n: [d for d in e.declared_deps() if d in entries] for n, e in entries.items()}
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError:
        return list(entries)
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def known_columns(index: ProjectIndex) -> dict[str, list[str] | None]:
    """Columns of each asset where knowable without running anything, else None (memoized)."""
    if index.known_columns is None:
        index.known_columns = _infer_columns(index)
    return index.known_columns


def _infer_columns(index: ProjectIndex) -> dict[str, list[str] | None]:
    entries = index.by_name()
    known: dict[str, list[str] | None] = {}
    for name in topological_names(index):
        entry = entries[name]
        spec = entry.spec
        cols: list[str] | None = None
        if isinstance(spec, SourceSpec):
            cols = list(spec.columns) or source_header_columns(index.root, spec)
        elif isinstance(spec, AssetSpecModel):
            if entry.query is not None:
                upstream = {d: known.get(d) or [] for d in entry.sql_refs}
                cols = sqlmod.output_columns(entry.query, upstream)
            if cols is None and spec.columns:
                cols = list(spec.columns)
            if spec.steps or spec.python:
                cols = list(spec.columns) or None
        known[name] = cols
    return known
