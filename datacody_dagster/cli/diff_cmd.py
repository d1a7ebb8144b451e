"""`datacody diff ASSET [V1] [V2]`: schema, row count and row changes between two versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datacody_dagster.cli.common import ProjectDir, console, handle_errors
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic


def changed_rows_table(key: tuple[str, ...], sample: list[dict[str, Any]]) -> Table:
    """Sampled changed rows, old and new values side by side (one line per changed column)."""
    table = Table(title="sample of changed rows", title_justify="left")
    for col in (*key, "column", "old", "new"):
        table.add_column(col)
    for row in sample:
        old, new = row.get("old") or {}, row.get("new") or {}
        for i, col in enumerate(row.get("changed") or []):
            keys = [str(row[k]) if i == 0 else "" for k in key]
            table.add_row(*keys, col, str(old.get(col)), str(new.get(col)))
    return table


def _label(name: str, md5: str) -> str:
    return f"{name} ({md5[:12]})" if md5 else name


def _print(asset: str, v1: str, v2: str, result: object) -> None:
    from datacody_dagster.versioning.diff import VersionDiff

    assert isinstance(result, VersionDiff)
    change = result.new_rows - result.old_rows
    console.print(
        f"[bold]{asset}[/bold]: {_label(v1, result.old_hash)} -> {_label(v2, result.new_hash)}\n"
        f"rows: {result.old_rows:,} -> {result.new_rows:,} ({change:+,})"
    )
    if result.schema:
        table = Table(title="schema changes")
        for col in ("column", "before", "after"):
            table.add_column(col)
        for c in result.schema:
            table.add_row(
                c.name, c.old_type or "[green](added)[/green]", c.new_type or "[red](removed)[/red]"
            )
        console.print(table)
    else:
        console.print("schema: unchanged")
    r = result.rows
    if r.key:
        console.print(
            f"by key ({', '.join(r.key)}): [green]{r.added:,} added[/green], "
            f"[red]{r.removed:,} removed[/red], [yellow]{r.changed:,} changed[/yellow]"
        )
        if r.changed_columns:
            cols = ", ".join(f"{c} ({n:,})" for c, n in sorted(r.changed_columns.items()))
            console.print(f"changed columns: {cols}")
        for label, rows in (("added", r.sample_added), ("removed", r.sample_removed)):
            if rows:
                console.print(f"sample {label}: " + "; ".join(json.dumps(x, default=str) for x in rows))
        if r.sample_changed:
            console.print(changed_rows_table(r.key, r.sample_changed))
    else:
        console.print(
            f"rows only in {v2}: [green]{r.added:,}[/green], only in {v1}: [red]{r.removed:,}[/red] "
            + (
                f"({r.note}, so changed rows count as removed + added)"
                if r.note
                else "(no unique check on this asset, so changed rows count as removed + added)"
            )
        )
    if result.unchanged:
        console.print("[green]no differences[/green]")


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def diff(
        asset: Annotated[str, typer.Argument(help="Asset name, as in asset_specs/.")],
        v1: Annotated[str | None, typer.Argument(help="Older version: number or hash prefix.")] = None,
        v2: Annotated[str | None, typer.Argument(help="Newer version (default: current).")] = None,
        project_dir: ProjectDir = Path("."),
        as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
        env: Annotated[
            str | None, typer.Option("--env", help="Compare prod's output with environment ENV's.")
        ] = None,
    ) -> None:
        """Compare two versions of ASSET (default: the previous one against the current one)."""
        if env is not None:
            _diff_env(project_dir, asset, env, as_json)
            return
        from datacody_dagster.versioning.diff import diff_versions
        from datacody_dagster.versioning.history import find_version
        from datacody_dagster.versioning.session import open_asset_versions

        versions = open_asset_versions(project_dir.resolve(), asset)
        history = versions.history
        if v1 is None and len(history) < 2:
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    f"{asset} has {len(history)} version(s); a diff needs two",
                    hint=f"materialize {asset} again after a change, or name two versions",
                )
            )
        old = find_version(history, v1 if v1 is not None else "-1", asset)
        new = find_version(history, v2 if v2 is not None else "0", asset)
        result = diff_versions(versions.project.root, old.hash, new.hash, versions.asset.unique_key)
        if as_json:
            payload = {"asset": asset, "old_version": old.version, "new_version": new.version}
            typer.echo(json.dumps(payload | result.to_json(), indent=2, default=str))
            return
        _print(asset, f"v{old.version}", f"v{new.version}", result)


def _diff_env(project_dir: Path, asset: str, env: str, as_json: bool) -> None:
    from datacody_dagster.compiler import compile_project
    from datacody_dagster.envs.build import unique_key
    from datacody_dagster.versioning.diff import diff_paths
    from datacody_dagster.versioning.env_state import check_env_name, load_state

    project = compile_project(project_dir)
    state = load_state(project.root, check_env_name(env))
    entry = state.assets.get(asset) if state else None
    if state is None or entry is None or asset not in state.promote or entry.path is None:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"env `{env}` did not build {asset}",
                hint=f"`datacody plan --env {env}` lists what it rebuilds",
            )
        )
    node = project.plan.node(asset)
    prod = project.output_path(node)
    if not prod.exists():
        raise DatacodyError(Diagnostic(RUNTIME, f"prod has no output of {asset} yet", node.location))
    result = diff_paths(prod, project.root / entry.path, unique_key(node))
    if as_json:
        typer.echo(json.dumps({"asset": asset, "env": env} | result.to_json(), indent=2, default=str))
        return
    _print(asset, "prod", env, result)
