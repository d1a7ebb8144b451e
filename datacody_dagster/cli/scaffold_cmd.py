"""`datacody scaffold FILE`: profile a sample file and write a spec for it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


@handle_errors
def scaffold(
    file: Annotated[Path, typer.Argument(help="A csv, parquet or json file inside the project.")],
    project_dir: ProjectDir = Path("."),
    name: Annotated[str | None, typer.Option(help="Source name (default: from the file name).")] = None,
    group: Annotated[str | None, typer.Option(help="Dagster group (default: the source name).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Spec file to write (default: asset_specs/NAME.yaml).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress; print only errors.")] = False,
) -> None:
    """Profile FILE with DuckDB and write a spec: types, materialization, partitioning, checks."""
    from datacody_dagster.assistant.scaffold import SCAFFOLD_PHASES
    from datacody_dagster.assistant.scaffold import scaffold as run
    from datacody_dagster.cli.progress import rows_progress

    progress = rows_progress(f"scaffolding {file.name}", SCAFFOLD_PHASES, not quiet, console)
    with progress or contextlib.nullcontext():
        on_phase = progress.step if progress is not None else None
        path, profile = run(project_dir, file, name=name, group=group, out=out, on_phase=on_phase)
        if progress is not None:
            progress.finish()
    if quiet:
        return
    console.print(
        f"profiled {profile.rows:,} rows x {len(profile.columns)} columns; wrote {path} "
        "(it validates). Review the suggested checks.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("scaffold")(scaffold)
