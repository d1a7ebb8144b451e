"""`datacody schema`: the JSON Schema of the spec language (for editors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from datacody_dagster.cli.common import console, handle_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def schema(
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
        ] = None,
    ) -> None:
        """Print the JSON Schema of asset-spec files (VS Code YAML: `# yaml-language-server: $schema=...`)."""
        from datacody_dagster.emit.json_schema import spec_json_schema

        text = json.dumps(spec_json_schema(), indent=2) + "\n"
        if output:
            output.write_text(text, encoding="utf-8")
            console.print(f"wrote {output}")
        else:
            typer.echo(text, nl=False)
