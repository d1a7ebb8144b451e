"""`datacody init DIR`: a new project with an example spec, ready to materialize."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def init(
        directory: Annotated[Path, typer.Argument(help="Folder of the new project (created).")],
        example: Annotated[bool, typer.Option("--example/--no-example", help="Add an example spec.")] = True,
    ) -> None:
        """Create a project: asset_specs/, resources/, dbt_project/, workspace.yaml, DVC."""
        from datacody_dagster.compiler import compile_project
        from datacody_dagster.emit.files import atomic_write_text, sync_generated_files
        from datacody_dagster.emit.json_schema import spec_json_schema
        from datacody_dagster.scaffold.project import create_project

        root = directory.resolve()
        root.mkdir(parents=True, exist_ok=True)
        written = create_project(root, with_example=example)
        from datacody_dagster.instance import ensure_instance_home

        # `dagster dev` needs the instance folder (and its pools, run monitoring) at once.
        home = root / ".dagster_home"
        if not (home / "dagster.yaml").exists():
            written.append(ensure_instance_home(home) / "dagster.yaml")
        atomic_write_text(
            root / ".datacody" / "asset-spec.schema.json", json.dumps(spec_json_schema(), indent=2) + "\n"
        )
        project = compile_project(root)
        sync_generated_files(project)
        if project.settings.dvc.enabled:
            from datacody_dagster.versioning import ensure_dvc_repo

            ensure_dvc_repo(project.root, project.settings.dvc)
        for path in written:
            console.print(f"created {path.relative_to(root)}")
        console.print(
            f"[green]ready[/green]: cd {directory} && datacody materialize   "
            "(UI: DAGSTER_HOME=$PWD/.dagster_home dagster dev -w workspace.yaml)"
        )
