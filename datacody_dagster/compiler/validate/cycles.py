"""DC102: the dependency graph has no cycle (the error prints it)."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Elementary cycles found by DFS, each reported once as ``[a, b, ..., a]``.

    The walk keeps its own stack: a chain of thousands of assets must not hit Python's
    recursion limit.
    """
    state: dict[str, int] = {}
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    for root in sorted(graph):
        if root in state:
            continue
        path: list[str] = [root]
        state[root] = 1
        pending: list[list[str]] = [[d for d in reversed(graph.get(root, [])) if d in graph]]
        while pending:
            deps = pending[-1]
            if not deps:
                pending.pop()
                state[path.pop()] = 2
                continue
            dep = deps.pop()
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cycle)
            elif state.get(dep) is None:
                state[dep] = 1
                path.append(dep)
                pending.append([d for d in reversed(graph.get(dep, [])) if d in graph])
    return cycles


def check(index: ProjectIndex) -> list[Diagnostic]:
    entries = index.by_name()
    # Edges point downstream -> upstream; print the cycle in data-flow order.
    graph = {name: e.declared_deps() for name, e in entries.items()}
    diags = []
    for cycle in find_cycles(graph):
        flow = list(reversed(cycle))
        entry = entries[flow[0]]
        loc = entry.location()
        diags.append(
            Diagnostic(
                errors.DEPENDENCY_CYCLE,
                "dependency cycle: " + " -> ".join(flow),
                loc,
                "an asset cannot read itself through its downstream assets; break one reference",
            )
        )
    return diags
