"""Whether `python: module:function` names a callable defined in that module itself.

An allowed module is not a door to everything it imports: ``json:codecs`` (a module ``json``
imports), ``json.os:system`` (no such submodule) or a re-exported function would reach code
outside what the allow-list names. Checked from the module's source with ``ast``, without
importing it; only an allow-listed module without Python source (a C extension, a built-in) is
imported, as the allow-list already permits, and inspected.

A name rebound to a decorator-style call of a function defined there (``f = cache(f)``,
``g = functools.lru_cache(maxsize=None)(f)``) is that function, wrapped: accepted when the call's
one argument is a function defined in the module and the callee is a name the module binds
(imported or defined; not a value, nor a builtin such as ``type`` or ``getattr``) whose factory
arguments, if any, are constants. Any other call (``run = partial(os.system, "x")``,
``run = getattr(os, "system")``) stays a value; run time checks the imported object's
``__module__`` again.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import inspect
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datacody_dagster.compiler.python_modules import allowed_by_list, project_module_file


@dataclass(frozen=True)
class AttributeProblem:
    """Why the referenced attribute may not run, and how to fix the reference."""

    problem: str
    hint: str


@dataclass(frozen=True)
class _Binding:
    kind: str  # function | class | import | value | star | wrapped
    detail: str = ""  # for imports: the module it comes from; wrapped: "callee:argument"


def _wrapped(value: ast.expr | None) -> str | None:
    """``callee:name`` for a decorator-style call ``callee(name)`` or ``callee(constants)(name)``
    (``callee`` the root name of a dotted path), else None."""
    if not isinstance(value, ast.Call) or len(value.args) != 1 or value.keywords:
        return None
    arg, callee = value.args[0], value.func
    if isinstance(callee, ast.Call):  # a decorator factory: lru_cache(maxsize=None)
        factory_args = [*callee.args, *(k.value for k in callee.keywords)]
        if not all(isinstance(a, ast.Constant) for a in factory_args):
            return None
        callee = callee.func
    while isinstance(callee, ast.Attribute):
        callee = callee.value
    if not isinstance(arg, ast.Name) or not isinstance(callee, ast.Name):
        return None
    return f"{callee.id}:{arg.id}"


def _locate(root: Path, module: str) -> tuple[Path | None, bool]:
    """The module's source file (or None) and whether the module exists at all, found as the
    import system would (the project root first), without importing it."""
    own = project_module_file(root, module)
    if own is not None:
        return own, True
    loaded = sys.modules.get(module)
    if loaded is not None:
        file = getattr(loaded, "__file__", None)
        return (Path(file) if file and file.endswith(".py") else None), True
    parts = module.split(".")
    path = [str(root), *sys.path]
    spec = None
    for i in range(len(parts)):
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), path)
        if spec is None:
            return None, False
        path = list(spec.submodule_search_locations or [])
        if not path and i < len(parts) - 1:
            return None, False  # a plain module has no submodules
    origin = spec.origin if spec is not None else None
    return (Path(origin) if origin and origin.endswith(".py") else None), True


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def _bindings(tree: ast.Module, module: str, is_package: bool) -> dict[str, list[_Binding]]:
    """Every module-level binding of each name (inside `if`/`try`/`with` blocks too)."""
    found: dict[str, list[_Binding]] = {}

    def bind(name: str, binding: _Binding) -> None:
        found.setdefault(name, []).append(binding)

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, ast.Tuple | ast.List):
            return [n for elt in node.elts for n in targets(elt)]
        return []

    def walk(body: Sequence[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                bind(stmt.name, _Binding("function"))
            elif isinstance(stmt, ast.ClassDef):
                bind(stmt.name, _Binding("class"))
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    bind(alias.asname or alias.name.split(".")[0], _Binding("import", alias.name))
            elif isinstance(stmt, ast.ImportFrom):
                source = _absolute(module, is_package, stmt)
                for alias in stmt.names:
                    if alias.name == "*":
                        bind("*", _Binding("star", source))
                    else:
                        bind(alias.asname or alias.name, _Binding("import", f"{source}:{alias.name}"))
            elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
                value = stmt.value
                kind = "function" if isinstance(value, ast.Lambda) else "value"
                wrapped = _wrapped(value) if not isinstance(stmt, ast.AugAssign) else None
                for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                    for name in targets(target):
                        single = isinstance(target, ast.Name)
                        bind(name, _Binding("wrapped", wrapped) if wrapped and single else _Binding(kind))
            else:
                for field in ("body", "orelse", "finalbody"):
                    walk(getattr(stmt, field, []))
                for handler in getattr(stmt, "handlers", []):
                    walk(handler.body)

    walk(tree.body)
    return found


_CALLEES = frozenset({"import", "function", "class"})
"""How a wrapper's callee may be bound: imported (``functools.cache``) or defined, not a value."""


def _defined_here(every: dict[str, list[_Binding]], name: str, seen: frozenset[str] = frozenset()) -> bool:
    """Every binding of ``name`` is a function or class defined in the module, or a safe
    wrapper of one, and there is at least one."""
    bindings = every.get(name, [])
    if not bindings or name in seen:
        return False
    for b in bindings:
        if b.kind == "wrapped":
            callee, _, arg = b.detail.partition(":")
            if not every.get(callee) or any(c.kind not in _CALLEES for c in every[callee]):
                return False
            if arg == name:  # f = cache(f): the other bindings of f are checked in this loop
                if not any(o.kind in {"function", "class"} for o in bindings):
                    return False
            elif not _defined_here(every, arg, seen | {name}):
                return False
        elif b.kind not in {"function", "class"}:
            return False
    return True


def _from_source(root: Path, module: str, func: str, source: Path) -> AttributeProblem | None:
    tree = ast.parse(source.read_text(encoding="utf-8", errors="replace"), filename=str(source))
    is_package = source.name == "__init__.py"
    every = _bindings(tree, module, is_package)
    bindings = every.get(func, [])
    fix = f"name a function defined with `def` in `{module}` itself"
    for b in bindings:
        if b.kind == "import":
            target, _, attr = b.detail.partition(":")
            if not attr:
                what = f"the module `{target}` that `{module}` imports"
                return AttributeProblem(f"`{func}` is {what}, not a function of `{module}`", fix)
            return AttributeProblem(
                f"`{func}` is imported into `{module}` from `{target}`, not defined there",
                f"{fix}, or name it where it is defined (`{target}:{attr}`) if that module is allowed",
            )
        if b.kind == "value" or (b.kind == "wrapped" and not _defined_here(every, func)):
            return AttributeProblem(
                f"`{func}` is a value assigned in `{module}`, not a function defined there",
                f"{fix} (a wrapper of one, such as `f = cache(f)`, is accepted)",
            )
    if bindings:
        return None
    if is_package and _locate(root, f"{module}.{func}")[1]:
        return AttributeProblem(f"`{module}.{func}` is a submodule, not a function of `{module}`", fix)
    return AttributeProblem(f"`{module}` defines no function `{func}`", fix)


def _by_import(module: str, func: str) -> AttributeProblem | None:
    fix = f"name a function defined in `{module}` itself"
    try:
        obj = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError):
        return AttributeProblem(f"`{module}` has no function `{func}`", fix)
    if inspect.ismodule(obj):
        return AttributeProblem(f"`{func}` is a module, not a function of `{module}`", fix)
    if not callable(obj):
        return AttributeProblem(f"`{func}` is a {type(obj).__name__}, not a function", fix)
    if getattr(obj, "__module__", None) != module:
        return AttributeProblem(f"`{func}` is defined in `{obj.__module__}`, not in `{module}`", fix)
    return None


def attribute_problem(root: Path, ref: str, allow: Sequence[str]) -> AttributeProblem | None:
    """Why ``module:function`` (a module that may run) does not name a callable defined in
    that module, or None."""
    module, _, func = ref.partition(":")
    source, exists = _locate(Path(root), module)
    if not exists:
        parent, _, last = module.rpartition(".")
        where = f"`{parent}` has no submodule `{last}`" if parent else f"no module `{module}` is installed"
        return AttributeProblem(
            f"`{module}` is not a module ({where})",
            "name a module by its own path, e.g. `my_pkg.transforms:customer_scores`",
        )
    if source is not None:
        try:
            return _from_source(Path(root), module, func, source)
        except (OSError, SyntaxError, ValueError) as exc:
            return AttributeProblem(f"`{module}` cannot be read ({exc})", "fix the module's source")
    if allowed_by_list(module, allow):
        return _by_import(module, func)
    return AttributeProblem(f"`{module}` has no Python source to check", "name a module written in Python")
