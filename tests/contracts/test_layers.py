"""The package's layers as a checked contract: imports go one way, and no module cycle exists.

A short `ast` walk over every module (imports inside functions count: a deferred import still
couples two modules; `if TYPE_CHECKING:` blocks do not). A module may import its own top-level
package and any package of a lower layer, never one of its own layer or above.

`KNOWN` lists accepted violations (none today: the six the contract started with were removed by
moving code); the test fails when a listed one no longer occurs, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "datacody_dagster"

# Lowest first. Why this order (where it differs from DESIGN's suggested one):
# - `config` (settings) sits below `compiler`: the compiler reads settings, settings read no spec.
# - `resources` (thin ConfigurableResources over config) need only settings, so they sit below
#   the engines.
# - `optimizer` sits above `checks`: its signals read check verdicts and feedback from history
#   through checks/verdicts.py and checks/feedback.py (one reader of planned-but-skipped results).
# - `steps` below `checks`: training-data checks reuse the steps' scanners, never the reverse.
# - Terminal progress lives in cli/: the runtime reports run events (runtime/events.py).
# - `roundtrip_yaml` (ruamel, comments kept) is read by settings and written by spec patchers.
# - `instance` (the project's Dagster instance) sits below checks, versioning and runtime: all
#   three read its event log; `legacy_env_runs`, the one-time
#   clean-up the instance runs when it opens, just below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "cron", "temp_names", "roundtrip_yaml", "run_markers"),
    ("spec",),
    ("config",),
    ("compiler",),
    ("emit", "resources"),
    ("legacy_env_runs",),
    ("scaffold", "instance"),
    ("engines",),
    ("steps",),
    ("checks",),
    ("optimizer",),
    ("versioning", "assistant"),
    ("semantic",),
    ("runtime",),
    ("envs",),
    ("definitions",),
    ("component",),
    ("cli",),
)

KNOWN: frozenset[tuple[str, str]] = frozenset()


def _module_name(path: Path) -> str:
    parts = path.with_suffix("").relative_to(PACKAGE.parent).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (a `from pkg import sub` names the submodule)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [t if t in paths else node.module for t in targets]
            for target in targets:
                if target in paths and target != module:
                    graph[module].add(target)
    return graph


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _level(module: str) -> int:
    top = _top(module)
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module}: top-level `{top}` is in no layer; add it to LAYERS")


def layer_violations() -> set[tuple[str, str]]:
    """(importer, imported) pairs where the imported module is not in a lower layer."""
    return {
        (a, b)
        for a, targets in import_graph().items()
        for b in targets
        if _top(a) != _top(b) and _level(b) >= _level(a)
    }


def module_cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_imports_follow_the_layers() -> None:
    found = layer_violations()
    new = sorted(found - KNOWN)
    assert not new, "imports against the layer order:\n" + "\n".join(f"  {a} -> {b}" for a, b in new)
    gone = sorted(KNOWN - found)
    assert not gone, "fixed, remove from KNOWN:\n" + "\n".join(f"  {a} -> {b}" for a, b in gone)


def test_no_module_cycles() -> None:
    assert module_cycles() == []
