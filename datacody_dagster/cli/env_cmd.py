"""`datacody env list|delete NAME`: the environments built by `datacody plan --env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, handle_errors


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def register(app: typer.Typer) -> None:
    env_app = typer.Typer(help="Environments: list them, delete one (prod is never touched).")
    app.add_typer(env_app, name="env")

    @env_app.command("list")
    @handle_errors
    def list_(project_dir: ProjectDir = Path(".")) -> None:
        """Environments with their plan, built assets, blocking failures and size."""
        from datacody_dagster.config import load_settings
        from datacody_dagster.envs.build import env_root
        from datacody_dagster.versioning.env_state import PROD, list_states, load_state

        root = project_dir.resolve()
        warehouse = load_settings(root).warehouse_dir
        table = Table()
        for col in ("env", "plan", "built", "blocking failures", "size"):
            table.add_column(col)
        for name in list_states(root):
            state = load_state(root, name)
            if state is None:
                continue
            folder = root / warehouse if name == PROD else env_root(root, name)
            size = _size(folder)
            table.add_row(
                name,
                state.plan_id or "",
                ", ".join(state.promote) if name != PROD else f"{len(state.assets)} assets",
                "; ".join(state.blocking_failures),
                f"{size / 1e6:.1f} MB",
            )
        console.print(table)

    @env_app.command("delete")
    @handle_errors
    def delete(
        name: Annotated[str, typer.Argument(help="Environment to delete (not prod).")],
        project_dir: ProjectDir = Path("."),
    ) -> None:
        """Remove the environment's outputs and state; prod's files are never touched."""
        from datacody_dagster.envs.build import ENVS_DIR, env_root
        from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
        from datacody_dagster.versioning.env_state import PROD, check_env_name, delete_state, list_states

        if name == PROD:
            raise DatacodyError(
                Diagnostic(RUNTIME, "`prod` cannot be deleted", hint="name an env built by `plan --env`")
            )
        root = project_dir.resolve()
        folder = env_root(root, check_env_name(name))
        if not folder.exists() and name not in list_states(root):
            raise DatacodyError(
                Diagnostic(RUNTIME, f"no environment `{name}`", hint="`datacody env list` shows them")
            )
        from datacody_dagster.envs.lock import env_lock
        from datacody_dagster.envs.workspace import WORKSPACES_DIR, remove_tree, workspace_dir

        with env_lock(root, name, f"datacody env delete {name}"):
            # Only the env's own folders: reused assets live in prod and are only referenced.
            remove_tree(folder, root / ENVS_DIR)
            remove_tree(workspace_dir(root, name), root / WORKSPACES_DIR)  # its dbt project and DuckDB
            delete_state(root, name)
            from datacody_dagster.envs.records import wipe_env_records

            wipe_env_records(root, name)  # the UI shows no assets of a deleted environment
        console.print(f"deleted env `{name}`")
