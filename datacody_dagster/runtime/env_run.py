"""What a run does differently when it builds an environment rather than prod.

A run's target is ``CompiledProject.env`` (``datacody plan --env NAME`` compiles the project with
the environment's output paths, ``envs/build.py``). The run path is the same for both, so are
the engines, checks, write-audit-publish and blocking rules; only prod's own effects differ:

- prod skips up-to-date assets (judged against prod's event log); an environment builds its
  whole rebuild list, since it starts from prod's data and the plan chose what to rebuild;
- prod versions each published output with DVC; an environment does not (its outputs get a
  DVC version when ``apply`` promotes them), its data version is the output's md5;
- the run records its materializations and check evaluations on the environment's asset keys,
  ``env/NAME/<asset>`` (``emit/dagster.py`` ``run_key``), never on prod's: the Dagster UI,
  sensors, automation and every prod reader of the event log see prod's latest state, and the
  environment's builds as its own assets. The run carries the tag ``datacody/env`` and its
  materializations the metadata ``datacody/env_build``.
"""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.run_markers import ENV_TAG
from datacody_dagster.versioning.env_state import PROD

__all__ = ["PROD", "env_tags", "is_prod", "output_md5"]


def is_prod(project: CompiledProject) -> bool:
    return project.env == PROD


def env_tags(project: CompiledProject) -> dict[str, str]:
    """The run tags of a run that builds ``project.env`` (none for prod)."""
    return {} if is_prod(project) else {ENV_TAG: project.env}


def output_md5(path: Path) -> str | None:
    """The md5 DVC would give a single-file output (a folder: None)."""
    # Imported here: the no-op path imports this module and must stay free of DuckDB.
    from datacody_dagster.checks.history import file_md5

    return file_md5(path) if path.is_file() else None
