"""Shared CLI plumbing: the project-dir option, console, and error-to-exit-code handling."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from datacody_dagster.errors import DatacodyError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

ProjectDir = Annotated[
    Path,
    typer.Option(
        "--project-dir",
        "-p",
        help="Project root (holds asset_specs/ and resources/).",
        file_okay=False,
    ),
]


def print_diagnostics(error: DatacodyError) -> None:
    for diag in error.diagnostics:
        err_console.print(diag.format(), markup=False, highlight=False)
    count = len(error.diagnostics)
    err_console.print(f"[red]{count} error{'s' if count != 1 else ''}[/red]")


def handle_errors(fn: F) -> F:
    """Turn DatacodyError into printed diagnostics and exit code 1 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DatacodyError as exc:
            print_diagnostics(exc)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def is_interactive() -> bool:
    return sys.stdout.isatty()
