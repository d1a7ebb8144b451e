"""`datacody propose "REQUEST"`: a plain-language change request turned into reviewable proposals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


@handle_errors
def propose(
    request: Annotated[str, typer.Argument(help='e.g. "dedupe customers by email and drop ages over 120"')],
    project_dir: ProjectDir = Path("."),
) -> None:
    """Ask the LLM for spec patches implementing REQUEST; store them as open proposals (LLM required)."""
    from datacody_dagster.assistant.propose import propose as run
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.optimizer.model import describe_patch
    from datacody_dagster.optimizer.service import store_for
    from datacody_dagster.resources.llm import LlmResource

    project = compile_project(project_dir)
    explanation, proposals = run(project, request, LlmResource.from_settings(project.settings.llm))
    store = store_for(project)
    console.print(explanation, markup=False, highlight=False)
    for p in proposals:
        store.add(p)
        console.print(f"{p.id}  {p.asset}: {describe_patch(p.patch)}", markup=False, highlight=False)
    console.print("Review with `datacody proposals show ID`, then `apply ID` or `reject ID`.")


def register(app: typer.Typer) -> None:
    app.command("propose")(propose)
