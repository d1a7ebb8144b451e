"""`datacody optimize`: evaluate the optimizer now and print (and store) its proposals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, err_console, handle_errors


@handle_errors
def optimize(
    project_dir: ProjectDir = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of proposals.")] = False,
    use_llm: Annotated[bool, typer.Option("--llm/--no-llm", help="Let the LLM review (when online).")] = True,
) -> None:
    """Evaluate the optimizer rules on the project's run history and list proposals.

    New proposals are stored in proposals/ (status open) and recorded as observations on their
    assets. Nothing is applied: see `datacody proposals apply ID`.
    """
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.instance import project_instance
    from datacody_dagster.optimizer.model import describe_patch
    from datacody_dagster.optimizer.observations import proposal_observation
    from datacody_dagster.optimizer.service import evaluate, record_new, store_for
    from datacody_dagster.resources.llm import LlmResource

    project = compile_project(project_dir)
    instance = project_instance(project.root)
    llm = LlmResource.from_settings(project.settings.llm) if use_llm else None
    proposals = evaluate(project, instance, llm=llm)
    new = {p.id for p in record_new(project, proposals)}
    for p in proposals:
        if p.id in new:
            instance.report_runless_asset_event(proposal_observation(p))
    statuses = {s.proposal.id: s.status for s in store_for(project).all()}
    if as_json:
        rows = [
            {**p.model_dump(mode="json"), "status": statuses.get(p.id, "open"), "new": p.id in new}
            for p in proposals
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if llm is not None:
        err_console.print(f"LLM review: {llm.status()}", highlight=False)
    if not proposals:
        console.print("No proposals: nothing in the history or the plan calls for a change.")
        return
    for p in proposals:
        mark = "new" if p.id in new else statuses.get(p.id, "open")
        console.print(f"[bold]{p.id}[/bold] [{mark}] {p.asset}: {p.rule}", highlight=False)
        console.print(f"  patch: {describe_patch(p.patch)}", markup=False, highlight=False)
        console.print(f"  {p.rationale}", markup=False, highlight=False)
        if p.expected_gain:
            console.print(f"  gain: {p.expected_gain}", markup=False, highlight=False)
    console.print(f"{len(proposals)} proposal(s). Review with `datacody proposals show ID`.")


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)
