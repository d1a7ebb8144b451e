"""Terminal progress for long CLI work: a status row per item (asset, phase) or a spinner.

Drawn only when asked for and the console is a terminal: `--quiet`, pipes and CI logs get nothing
(each command's own summary follows). Transient, so the summary is what stays on screen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

STATUS_STYLE = {
    "pending": "dim",
    "running": "yellow",
    "materialized": "green",
    "passed": "green",
    "done": "green",
    "failed": "red",
}
FINISHED = frozenset({"materialized", "passed", "done", "failed"})


def terminal(show: bool, console: Console | None = None) -> Console | None:
    """The console to draw on when asked to and it is a terminal; None means stay quiet."""
    console = console or Console()
    return console if show and console.is_terminal else None


class RowProgress:
    """Rich progress with an overall bar and a status line per row (asset or phase)."""

    def __init__(self, title: str, rows: list[str], console: Console | None = None) -> None:
        self.title = title
        self.status: dict[str, str] = dict.fromkeys(rows, "pending")
        self.detail: dict[str, str] = dict.fromkeys(rows, "")
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console or Console(),
            transient=True,
        )
        self._overall: TaskID | None = None
        self._rows: dict[str, TaskID] = {}

    def __enter__(self) -> RowProgress:
        self._progress.start()
        self._overall = self._progress.add_task(f"[bold]{self.title}", total=len(self.status))
        for name in self.status:
            self._rows[name] = self._progress.add_task(self._label(name), total=1)
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def _label(self, name: str) -> str:
        style = STATUS_STYLE.get(self.status[name], "")
        detail = f" ({self.detail[name]})" if self.detail[name] else ""
        return f"  [{style}]{name}: {self.status[name]}{detail}[/{style}]"

    def set_status(self, name: str, status: str, detail: str = "") -> None:
        """Move one row to pending | running | a finished status (materialized, passed, done, failed)."""
        if name not in self.status or self.status[name] in FINISHED:
            return
        self.status[name] = status
        self.detail[name] = detail or self.detail[name]
        done = status in FINISHED
        self._progress.update(self._rows[name], description=self._label(name), completed=1 if done else 0)
        if self._overall is not None:
            finished = sum(s in FINISHED for s in self.status.values())
            self._progress.update(self._overall, completed=finished)

    def set_detail(self, name: str, detail: str) -> None:
        if name in self.detail:
            self.detail[name] = detail
            self._progress.update(self._rows[name], description=self._label(name))

    def step(self, name: str) -> None:
        """Phases: finish the running phase and start ``name``."""
        self.finish()
        self.set_status(name, "running")

    def finish(self) -> None:
        """Mark the running rows done."""
        for row, status in self.status.items():
            if status == "running":
                self.set_status(row, "done")


def rows_progress(
    title: str, rows: list[str], show: bool, console: Console | None = None
) -> RowProgress | None:
    """A RowProgress when asked for and the console is a terminal; None otherwise (quiet)."""
    console = terminal(show, console)
    return None if console is None else RowProgress(title, rows, console)


@contextlib.contextmanager
def spinner(text: str, show: bool, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """A transient spinner showing ``text`` (terminal only); yields a function that replaces the text."""
    console = terminal(show, console)
    if console is None:
        yield lambda _text: None
        return
    with console.status(text) as status:
        yield lambda new: status.update(new)
