"""Which `python:` modules a spec may name: the project's own, or an explicit allow-list.

Checked by file location without importing anything (validation), and again on the imported
module (run time): a project file named like a standard module (``os.py``) does not make
``os:system`` the project's.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def allowed_by_list(module: str, allow: Sequence[str]) -> bool:
    """``module`` is an allow-listed module or inside an allow-listed package."""
    return any(module == a or module.startswith(a + ".") for a in allow)


def project_module_file(root: Path, module: str) -> Path | None:
    """The project file that defines ``module`` (``pkg/mod.py`` or ``pkg/mod/__init__.py``)."""
    base = Path(root).resolve() / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file() and candidate.resolve().is_relative_to(Path(root).resolve()):
            return candidate
    return None


def module_problem(root: Path, ref: str, allow: Sequence[str]) -> str | None:
    """Why ``module:function`` may not run, or None."""
    module, _, func = ref.partition(":")
    if func.startswith("_"):
        return f"`{func}` is private; name a public function"
    if allowed_by_list(module, allow):
        return None
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return f"`{module}` is a standard-library module, not the project's"
    if project_module_file(root, module) is None:
        return f"`{module}` is not a module of the project"
    return None


def imported_module_problem(root: Path, module: object, name: str, allow: Sequence[str]) -> str | None:
    """Why an imported module is not the project's own (nor allow-listed), or None."""
    if allowed_by_list(name, allow):
        return None
    file = getattr(module, "__file__", None)
    if not file or not Path(file).resolve().is_relative_to(Path(root).resolve()):
        return f"`{name}` was imported from {file or 'a built-in'}, outside the project"
    return None
