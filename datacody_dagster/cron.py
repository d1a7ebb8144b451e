"""Cron expressions as Dagster reads them: the one validator for specs, optimizer rules and LLM output.

Dagster's own check (`is_valid_cron_string`, over its vendored croniter) decides, so `validate`
refuses exactly the expressions that would stop the code location from loading (`99 25 * * *`,
`*/0 * * * *`, and `0 6 31 2 *`, a day February never has). Dagster is imported on first use
only (~1.3 s of CPU here), and each verdict is remembered per Dagster version.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
from pathlib import Path

FIELDS_HINT = "use five fields (minute hour day month weekday), e.g. '0 6 * * *'"


_MISSING = object()


def _verdict_cache() -> Path | None:
    """Where Dagster's verdicts are remembered, per installed Dagster version (None: unknown)."""
    try:
        version = importlib.metadata.version("dagster")
    except importlib.metadata.PackageNotFoundError:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "datacody" / f"cron-verdicts-dagster-{version}.json"


@functools.cache
def _remembered() -> dict[str, str | None]:
    path = _verdict_cache()
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(expr: str, problem: str | None) -> None:
    """Keep the verdict for the next process (a cache: failing to write it changes nothing)."""
    path = _verdict_cache()
    if path is None:
        return
    known = {**_remembered(), expr: problem}
    _remembered.cache_clear()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


@functools.cache
def cron_problem(expr: str) -> str | None:
    """None when Dagster accepts `expr` as a schedule; otherwise what is wrong with it, in a few words.

    Dagster's verdict on an expression is remembered on disk per Dagster version, so that
    `validate` of a project with schedules does not import Dagster every time (~1.3 s of CPU).
    """
    known = _remembered().get(expr, _MISSING)
    if known is None or isinstance(known, str):
        return known
    problem = _dagster_verdict(expr)
    _remember(expr, problem)
    return problem


def _dagster_verdict(expr: str) -> str | None:
    from dagster._utils.schedules import CroniterShim, is_valid_cron_string

    if is_valid_cron_string(expr):
        return None
    try:
        fields, *_ = CroniterShim.expand(expr)
    except Exception as exc:  # croniter says which part it could not read
        return str(exc)
    if len(fields) != 5:
        return f"{len(fields)} fields; Dagster reads exactly five (no seconds or years)"
    return "that day never occurs in that month (February has no 30th or 31st)"


def is_valid_cron(expr: str) -> bool:
    """True when Dagster accepts `expr` as a schedule."""
    return cron_problem(expr) is None
