"""Materialization history, the memory of the flywheel.

The runtime attaches :func:`profile_for_metadata` to every materialization; drift and
row-count-anomaly checks read it back through a :class:`CheckHistory`. The Dagster event log
is the store (:class:`DagsterCheckHistory`), so history needs no extra database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from datacody_dagster.checks.model import CheckTarget
from datacody_dagster.checks.profile import PROFILE_KEY

if TYPE_CHECKING:
    from dagster import DagsterInstance

ROW_COUNT_KEY = "dagster/row_count"
DATA_VERSION_TAG = "dagster/data_version"


@dataclass(frozen=True)
class HistoryRecord:
    """One past materialization of an asset."""

    run_id: str | None
    timestamp: float
    row_count: int | None
    data_version: str | None
    profile: dict[str, Any] | None


class CheckHistory(Protocol):
    """Past materializations of an asset, newest first."""

    def records(self, asset: str, limit: int) -> Sequence[HistoryRecord]: ...


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


class DagsterCheckHistory:
    """History read from a Dagster instance's event log."""

    def __init__(self, instance: DagsterInstance) -> None:
        self.instance = instance

    def records(self, asset: str, limit: int) -> list[HistoryRecord]:
        from dagster import AssetKey

        out: list[HistoryRecord] = []
        # prod's key: an environment's candidates are on env/NAME/<asset>, never a batch of prod's
        for rec in self.instance.fetch_materializations(AssetKey([asset]), limit=limit).records:
            mat = rec.asset_materialization
            if mat is None:
                continue
            meta = {k: _plain(v) for k, v in (mat.metadata or {}).items()}
            profile = meta.get(PROFILE_KEY)
            count = meta.get(ROW_COUNT_KEY)
            if count is None and isinstance(profile, dict):
                count = profile.get("rows")
            version = (mat.tags or {}).get(DATA_VERSION_TAG)
            if version is None and isinstance(profile, dict):
                version = profile.get("data_version")
            out.append(
                HistoryRecord(
                    run_id=rec.run_id or None,
                    timestamp=rec.timestamp,
                    row_count=int(count) if count is not None else None,
                    data_version=version,
                    profile=profile if isinstance(profile, dict) else None,
                )
            )
        return out

    def incident_runs(self, asset: str, check: str, limit: int = 200) -> set[str]:
        """Runs whose data failed ``check`` (planned-but-skipped evaluations are no verdict)."""
        from datacody_dagster.checks.verdicts import check_verdicts

        out: set[str] = set()
        for v in check_verdicts(self.instance, asset, check, limit):
            if not v.passed:
                out.update(r for r in (v.run_id, v.target_run_id) if r)
        return out

    def false_alarms(self, asset: str, check: str) -> list[dict[str, Any]]:
        """Evaluations of ``check`` that people marked as false alarms (`datacody feedback`)."""
        from datacody_dagster.checks.feedback import read_feedback

        return [
            f.as_json()
            for f in read_feedback(self.instance, asset)
            if f.check == check and f.verdict == "false_alarm"
        ]


def baseline_records(history: CheckHistory, target: CheckTarget, limit: int) -> list[HistoryRecord]:
    """Past records usable as a baseline for ``target``, newest first.

    The materialization that produced the data under check is not its own baseline: records of
    the same run are dropped, and so are records carrying the same data version (unchanged data
    says nothing new).
    """
    out = []
    for rec in history.records(target.asset, limit + 5):
        if target.run_id is not None and rec.run_id == target.run_id:
            continue
        if target.data_version is not None and rec.data_version == target.data_version:
            continue
        out.append(rec)
    return out[:limit]


def file_md5(path: Path) -> str:
    """The content hash DVC records for a single file."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


def profile_for_metadata(target: CheckTarget) -> dict[str, Any]:
    """The compact profile to attach under ``datacody/profile`` to a materialization."""
    from datacody_dagster.checks.context import EvalContext, connect

    version = target.data_version
    if version is None and target.parquet_path is not None and target.parquet_path.is_file():
        version = file_md5(target.parquet_path)
    con = connect(target)
    try:
        from datacody_dagster.checks.profile import compute_profile

        return compute_profile(EvalContext(target, con), version)
    finally:
        con.close()
