"""Resolve `--select` arguments (asset names and ``group:NAME``) to plan nodes."""

from __future__ import annotations

from collections.abc import Sequence

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import DatacodyError, Diagnostic

UNKNOWN_SELECTION = "DC301"


def select_nodes(project: CompiledProject, selectors: Sequence[str] | None) -> list[Node]:
    """Nodes matching any selector (all nodes when none), in plan order.

    A selector is an asset name or ``group:NAME``; several may be given comma-separated.
    """
    parts = [p.strip() for s in selectors or [] for p in s.split(",") if p.strip()]
    if not parts:
        return list(project.plan.nodes)
    groups = set(project.plan.groups())
    names = set(project.plan.names)
    problems = []
    for part in parts:
        if part.startswith("group:"):
            if part[6:] not in groups:
                problems.append(
                    Diagnostic(
                        UNKNOWN_SELECTION,
                        f"unknown group {part[6:]!r}",
                        hint=f"groups: {', '.join(sorted(groups))}",
                    )
                )
        elif part not in names:
            problems.append(
                Diagnostic(
                    UNKNOWN_SELECTION, f"unknown asset {part!r}", hint="use an asset name or group:NAME"
                )
            )
    if problems:
        raise DatacodyError(problems)
    chosen = {p for p in parts if not p.startswith("group:")}
    chosen_groups = {p[6:] for p in parts if p.startswith("group:")}
    return [n for n in project.plan.nodes if n.name in chosen or n.group in chosen_groups]
