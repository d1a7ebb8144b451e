"""`datacody materialize` when nothing needs doing: decided without Dagster, DVC or dbt.

A rerun with nothing changed used to cost a fifth of a full run, nearly all of it importing
Dagster and opening its instance. The verdicts here are the ones :mod:`up_to_date` gives inside a
run (same function, same records: read from the instance's SQLite files by
:mod:`event_log_snapshot`); when any asset must be rebuilt, or only Dagster can tell, the caller
starts the run as before.
"""

from __future__ import annotations

import time

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.instance import dagster_home_path
from datacody_dagster.legacy_env_runs import MARKER
from datacody_dagster.runtime.event_log_snapshot import latest_materializations
from datacody_dagster.runtime.summary import AssetRow, MaterializeSummary
from datacody_dagster.runtime.up_to_date import UP_TO_DATE, decide_from_records, wanted_records


def up_to_date_summary(project: CompiledProject, select: str | None) -> MaterializeSummary | None:
    """The summary of a run that would rebuild nothing (no Dagster run is created), or None.

    Only for the whole project (``select`` None: a selection string needs Dagster's parser).
    """
    started = time.monotonic()
    if select is not None:
        return None
    home = dagster_home_path(project.root)
    if not home.is_dir() or not (home / MARKER).exists():
        return None  # (no marker: the run path opens the instance, which removes legacy env runs first)
    nodes = list(project.plan.nodes)
    records = latest_materializations(home, wanted_records(nodes))
    if records is None:
        return None
    names = [n.name for n in nodes]
    verdicts = decide_from_records(project, names, records)
    if any(v.rebuild for v in verdicts.values()):
        return None
    rows = [AssetRow(n, UP_TO_DATE, verdicts[n].rows, None, "") for n in names]
    return MaterializeSummary(rows=rows, seconds=time.monotonic() - started)
