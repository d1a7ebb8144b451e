"""Prod's steps hold prod's lock shared, so `apply` and `rollback` never write prod beside them.

`datacody materialize` holds it for its whole run (``runtime/materialize.py``); runs launched by
the Dagster UI, a schedule or a sensor do not pass there, so each prod step holds it too, for
the step (shared: prod's steps and runs still go side by side). A step waits up to
:data:`STEP_WAIT_S` for an apply or a rollback, then fails naming it. Environment builds hold
their own environment's lock instead (``envs/build.py``). Holding it, a step refuses to start
on a prod that a crashed `apply` left half-applied (``versioning/apply_journal.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.versioning.apply_journal import writing_prod
from datacody_dagster.versioning.env_state import PROD

STEP_WAIT_S = 600.0
"""How long a prod step waits for an `apply` or `rollback` that holds prod's lock."""

F = TypeVar("F", bound=Callable[..., Iterator[Any]])


def holding_prod_lock(project: CompiledProject) -> Callable[[F], F]:
    """Decorate a step body (a generator taking the Dagster context) of ``project`` so that, in
    prod, it runs holding prod's lock shared."""

    def decorate(body: F) -> F:
        if project.env != PROD:
            return body

        @functools.wraps(body)
        def wrapped(context: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            def say(text: str) -> None:
                context.log.info(text)

            with writing_prod(project.root, "this run", STEP_WAIT_S, say, shared=True):
                yield from body(context, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
