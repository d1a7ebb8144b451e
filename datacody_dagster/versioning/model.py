"""Plain data handed out by the versioning layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RecordedVersion:
    """One output recorded in DVC: its content hash is the Dagster data version.

    ``md5`` is DVC's hash: a file's md5, or ``<md5>.dir`` for a partitioned folder.
    """

    md5: str
    size: int
    path: Path
    dvc_file: Path
    nfiles: int = 1

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")
