"""`datacody ask "QUESTION"`: a question answered through the semantic layer (MetricFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors


@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help='e.g. "cancellation rate by carrier"')],
    group: Annotated[str | None, typer.Option("--group", "-g", help="Only this group's metrics.")] = None,
    accept: Annotated[bool, typer.Option("--accept", help="Store the answer as verified.")] = False,
    correct: Annotated[
        str | None,
        typer.Option("--correct", help='The right query, stored as verified: "metrics=a,b;group_by=c".'),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the offline matcher even with an LLM.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Map QUESTION to a metric query (LLM, or the offline matcher), run it, print query, SQL, result."""
    from datacody_dagster.cli.metrics_cmd import print_result
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.errors import DatacodyError
    from datacody_dagster.resources.llm import LlmResource
    from datacody_dagster.semantic.ask import ask as run_ask
    from datacody_dagster.semantic.engine import open_engine
    from datacody_dagster.semantic.query import parse_query_text, resolve, run_query
    from datacody_dagster.semantic.verified import VerifiedStore

    project = compile_project(project_dir)
    layer = project.semantic.scoped(group) if group else project.semantic
    store = VerifiedStore(project.root)
    if correct is not None:
        query = parse_query_text(correct)
        resolve(layer, query)
        store.add(question, query)
        console.print(f"verified: {question!r} -> {query.text()} (in {store.path.relative_to(project.root)})")
        source = "correction"
    else:
        llm = None if offline else LlmResource.from_settings(project.settings.llm)
        outcome = run_ask(layer, question, llm, store.load())
        if outcome.query is None:
            raise DatacodyError(outcome.refusal(layer))
        query = outcome.query
        source = outcome.source
    resolve(layer, query)
    if not as_json:
        err_console.print(f"query ({source}): {query.text()}", markup=False, highlight=False)
    with open_engine(project) as engine:
        result = run_query(engine, query)
    if not as_json:
        console.print(result.sql, markup=False, highlight=False)
    print_result(result, as_json, sql=False)
    if accept and correct is None:
        store.add(question, query)
        console.print(f"verified: stored in {store.path.relative_to(project.root)}")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
