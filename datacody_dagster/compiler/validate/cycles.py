"""DC102: the dependency graph has no cycle (the error prints it)."""

from __future__ import annotations

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Elementary cycles found by DFS, each reported once as ``[a, b, ..., a]``."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cycle)
            elif state.get(dep) is None:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
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
