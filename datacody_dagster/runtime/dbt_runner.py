"""Invoke dbt (through dagster-dbt's CLI resource) for a set of generated models."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacody_dagster.compiler import CompiledProject


@dataclass(frozen=True)
class DbtModelResult:
    name: str
    status: str  # success | error | skipped
    message: str | None
    execution_time: float


def dbt_executable() -> str:
    """dbt next to the running interpreter (a venv's bin/ is often not on PATH), else PATH's."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_models(project: CompiledProject, names: list[str], log: Any = None) -> dict[str, DbtModelResult]:
    """`dbt run` the given models; one result per model (never raises on model errors)."""
    from dagster_dbt import DbtCliResource

    dbt_dir = project.root / project.settings.dbt_project_dir
    dbt = DbtCliResource(project_dir=str(dbt_dir), profiles_dir=str(dbt_dir), dbt_executable=dbt_executable())
    invocation = dbt.cli(["run", "--select", " ".join(names)], raise_on_error=False).wait()
    results: dict[str, DbtModelResult] = {}
    try:
        run_results = invocation.get_artifact("run_results.json")
    except Exception:  # no artifact when dbt failed before running (e.g. bad profile)
        run_results = {"results": []}
    for item in run_results.get("results", []):
        name = item["unique_id"].split(".")[-1]
        results[name] = DbtModelResult(
            name=name,
            status=item.get("status", "error"),
            message=item.get("message"),
            execution_time=float(item.get("execution_time") or 0.0),
        )
    if not invocation.is_successful() and any(r.status != "success" for r in results.values()):
        detail = "\n".join(_error_lines(invocation))
        for name, r in list(results.items()):
            if r.status != "success" and detail and detail not in (r.message or ""):
                results[name] = DbtModelResult(
                    name, r.status, f"{r.message or ''}\n{detail}".strip(), r.execution_time
                )
    if not results and not invocation.is_successful():
        tail = "\n".join(_error_lines(invocation))
        for name in names:
            results[name] = DbtModelResult(name, "error", tail or "dbt failed", 0.0)
    if log is not None:
        for r in results.values():
            log.info(f"dbt {r.name}: {r.status} in {r.execution_time:.2f}s")
    return results


def _error_lines(invocation: Any) -> list[str]:
    """dbt's own error messages of a failed invocation (its JSON log, collected by dagster-dbt)."""
    messages = [str(m) for m in getattr(invocation, "_error_messages", [])]
    if not messages:
        for line in getattr(invocation, "_stdout", []):
            if isinstance(line, dict) and line.get("info", {}).get("level") == "error":
                messages.append(str(line["info"].get("msg", "")))
            elif isinstance(line, str) and "error" in line.lower():
                messages.append(line)
    return [m.strip() for m in messages if m.strip()][-5:]
