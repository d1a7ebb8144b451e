"""Run the checks of selected assets on their current outputs (what `datacody check` does)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from datacody_dagster.checks.cache import ResultCache
from datacody_dagster.checks.engine import evaluate
from datacody_dagster.checks.history import CheckHistory
from datacody_dagster.checks.model import CheckOutcome
from datacody_dagster.checks.targets import target_for
from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.spec.check_kinds import HISTORY_KINDS


def project_history(project: CompiledProject) -> CheckHistory:
    """History from the project's Dagster instance (imports dagster: only when needed)."""
    from datacody_dagster.checks.history import DagsterCheckHistory
    from datacody_dagster.instance import project_instance

    return DagsterCheckHistory(project_instance(project.root))


def run_project_checks(
    project: CompiledProject,
    nodes: Sequence[Node],
    *,
    use_cache: bool = True,
    on_status: Callable[[str, str, str], None] | None = None,
) -> list[CheckOutcome]:
    """Outcomes of every check of ``nodes``, asset by asset, in plan order.

    ``on_status(asset, status, detail)`` hears "running" before an asset's checks and "passed"
    or "failed" (with "k/n checks passed") after them: `datacody check` draws its progress from it.
    """
    report = on_status or (lambda _asset, _status, _detail: None)
    cache = ResultCache.for_project(project.root) if use_cache else None
    needs_history = any(c.kind in HISTORY_KINDS for n in nodes for c in n.checks)
    history = project_history(project) if needs_history else None
    outcomes: list[CheckOutcome] = []
    try:
        for node in nodes:
            if node.checks:
                report(node.name, "running", "")
                found = evaluate(target_for(project, node), node.checks, history, cache)
                passed = sum(o.passed and o.error is None for o in found)
                status = "passed" if passed == len(found) else "failed"
                report(node.name, status, f"{passed}/{len(found)} checks passed")
                outcomes += found
    finally:
        if cache is not None:
            cache.close()
    return outcomes


def gate_failed(outcomes: Sequence[CheckOutcome]) -> bool:
    """True when an error-severity check failed or could not be evaluated."""
    return any(o.check.severity == "error" and (not o.passed or o.error) for o in outcomes)
