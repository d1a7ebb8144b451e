"""Every materialization versioned with DVC: record, recover, history, diff, checkout, sync.

The runtime calls :func:`ensure_dvc_repo` once per run and :func:`record_output` after each
output is written (:func:`record_outputs` for a step's outputs at once); the md5 of the
returned :class:`RecordedVersion` is the Dagster data version.
History, diff and checkout read the Dagster event log and DVC's content-addressed cache.
"""

from datacody_dagster.versioning.dvcrepo import ensure_dvc_repo
from datacody_dagster.versioning.model import RecordedVersion
from datacody_dagster.versioning.recording import RecordedBatch, record_output, record_outputs
from datacody_dagster.versioning.recovery import backup_path_for, recover, temp_path_for

__all__ = [
    "RecordedBatch",
    "RecordedVersion",
    "backup_path_for",
    "ensure_dvc_repo",
    "record_output",
    "record_outputs",
    "recover",
    "temp_path_for",
]
