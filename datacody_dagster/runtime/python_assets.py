"""Run `python: module:function` assets: upstream tables in, one table out."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.compiler.python_modules import imported_module_problem, module_problem

if TYPE_CHECKING:
    import pyarrow as pa
from datacody_dagster.engines.atomic import write_parquet_atomic
from datacody_dagster.engines.relations import read_table
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic


def load_callable(project: CompiledProject, node: Node) -> Callable[..., Any]:
    """Import ``module:function`` with the project root importable (like a code location)."""
    assert node.python is not None
    module_name, func_name = node.python.split(":", 1)
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    allow = list(getattr(project.settings, "python_modules", []))
    problem = module_problem(project.root, node.python, allow)
    try:
        if problem is None:
            module = importlib.import_module(module_name)
            problem = imported_module_problem(project.root, module, module_name, allow)
            func = getattr(module, func_name)
            if problem is None and (inspect.ismodule(func) or not callable(func)):
                problem = f"`{func_name}` is a {type(func).__name__}, not a function of `{module_name}`"
            if problem is None and getattr(func, "__module__", module_name) != module_name:
                problem = f"`{func_name}` is imported into `{module_name}`, not defined there"
            if problem is None:
                return func  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"asset `{node.name}`: cannot import `{node.python}`: {exc}",
                node.location,
                "the module must be importable from the project root or the installed packages",
            )
        ) from None
    raise DatacodyError(
        Diagnostic(
            RUNTIME,
            f"asset `{node.name}`: `{node.python}` is not run: {problem}",
            node.location,
            "allow the package in resources/<env>.yaml (`python_modules: [pkg]`)",
        )
    )


def to_arrow(result: Any, node: Node) -> pa.Table:
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result
    if hasattr(result, "to_arrow_table"):  # DuckDB relation
        return result.to_arrow_table()  # type: ignore[no-any-return]
    if hasattr(result, "__dataframe__") or type(result).__name__ == "DataFrame":
        return pa.Table.from_pandas(result, preserve_index=False)
    raise DatacodyError(
        Diagnostic(
            RUNTIME,
            f"asset `{node.name}`: `{node.python}` returned {type(result).__name__}, not a table",
            node.location,
            "return a pyarrow Table, a pandas DataFrame or a DuckDB relation",
        )
    )


def run_python_asset(project: CompiledProject, node: Node, output: Path | None = None) -> Path:
    """Call the asset's function on its upstream tables; write the result to ``output``."""
    func = load_callable(project, node)
    params = inspect.signature(func).parameters
    takes_all = any(p.kind == p.VAR_KEYWORD for p in params.values())
    kwargs = {
        dep: read_table(project, project.plan.node(dep)) for dep in node.deps if takes_all or dep in params
    }
    output = output or project.output_path(node)
    write_parquet_atomic(to_arrow(func(**kwargs), node), output)
    return output
