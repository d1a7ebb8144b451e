"""`datacody proposals list|show|apply|reject`: review optimizer and assistant proposals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors

if TYPE_CHECKING:
    from datacody_dagster.optimizer.store import ProposalStore

proposals_app = typer.Typer(
    help="Review proposals: list, show, apply (after review) or reject.", no_args_is_help=True
)

ProposalId = Annotated[str, typer.Argument(help="Proposal id (a unique prefix is enough).")]


def _store(project_dir: Path) -> tuple[Path, ProposalStore]:
    from datacody_dagster.config import load_settings
    from datacody_dagster.optimizer.store import ProposalStore

    root = project_dir.resolve()
    return root, ProposalStore(root / load_settings(root).proposals_dir)


@proposals_app.command("list")
@handle_errors
def list_(
    project_dir: ProjectDir = Path("."),
    status: Annotated[str | None, typer.Option(help="Only this status: open, applied, rejected.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List stored proposals (open first)."""
    from datacody_dagster.optimizer.model import describe_patch

    _, store = _store(project_dir)
    items = [s for s in store.all() if status is None or s.status == status]
    if as_json:
        typer.echo(
            json.dumps([{**s.proposal.model_dump(mode="json"), "status": s.status} for s in items], indent=2)
        )
        return
    if not items:
        console.print("No proposals. Run `datacody optimize`.")
        return
    for s in items:
        p = s.proposal
        typer.echo(f"{p.id}  {s.status:<8} {p.asset:<28} {p.rule:<34} {describe_patch(p.patch)}")


@proposals_app.command("show")
@handle_errors
def show(proposal_id: ProposalId, project_dir: ProjectDir = Path(".")) -> None:
    """Show a proposal: rationale, evidence and the diff it would make to the spec file."""
    from datacody_dagster.optimizer.model import describe_patch
    from datacody_dagster.optimizer.patches import render_patch

    root, store = _store(project_dir)
    s = store.get(proposal_id)
    p = s.proposal
    console.print(f"[bold]{p.id}[/bold] ({s.status}) {p.source} rule {p.rule} on {p.asset}", highlight=False)
    console.print(f"patch: {describe_patch(p.patch)}", markup=False, highlight=False)
    console.print(p.rationale, markup=False, highlight=False)
    if p.expected_gain:
        console.print(f"expected gain: {p.expected_gain}", markup=False, highlight=False)
    console.print("evidence: " + json.dumps(p.evidence, default=str), markup=False, highlight=False)
    if s.status == "open":
        console.print(
            render_patch(root, p).diff or "(no change to the spec file)", markup=False, highlight=False
        )


@proposals_app.command("apply")
@handle_errors
def apply(proposal_id: ProposalId, project_dir: ProjectDir = Path(".")) -> None:
    """Apply a proposal: show the diff, write the spec keeping comments, re-validate."""
    from datacody_dagster.errors import DatacodyError
    from datacody_dagster.optimizer.patches import apply_patch

    root, store = _store(project_dir)
    s = store.get(proposal_id)
    if s.status != "open":
        raise DatacodyError(f"proposal {s.proposal.id} is {s.status}; only open proposals are applied")
    result = apply_patch(root, s.proposal)
    console.print(result.diff or "(no change to the spec file)", markup=False, highlight=False)
    store.set_status(s.proposal.id, "applied")
    console.print(
        f"applied {s.proposal.id} to {result.display_path}; the project validates. "
        "Run `datacody compile` to regenerate dbt files.",
        highlight=False,
    )


@proposals_app.command("reject")
@handle_errors
def reject(proposal_id: ProposalId, project_dir: ProjectDir = Path(".")) -> None:
    """Reject a proposal; the optimizer will not propose it again."""
    _, store = _store(project_dir)
    s = store.set_status(store.get(proposal_id).proposal.id, "rejected")
    console.print(f"rejected {s.proposal.id}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(proposals_app, name="proposals")
