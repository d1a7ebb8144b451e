"""Proposals on disk: `<root>/<proposals_dir>/<id>.json`, each with a review status.

Files, not a database, so proposals can be read, diffed and reviewed in a pull request. A
proposal made again keeps its status: a rejected one is never reopened by the sensor.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from datacody_dagster.errors import DatacodyError
from datacody_dagster.optimizer.model import Proposal

Status = Literal["open", "applied", "rejected"]


@dataclass(frozen=True)
class StoredProposal:
    proposal: Proposal
    status: Status
    created_at: float
    updated_at: float
    path: Path


class ProposalStore:
    """Reads and writes proposal files in one folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, proposal_id: str) -> Path:
        if not proposal_id.replace("_", "").replace("-", "").isalnum():
            raise DatacodyError(f"`{proposal_id}` is not a proposal id")
        return self.folder / f"{proposal_id}.json"

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=False)
            fh.write("\n")
        os.replace(tmp, path)

    def _read(self, path: Path) -> StoredProposal:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return StoredProposal(
                proposal=Proposal.model_validate(data["proposal"]),
                status=data["status"],
                created_at=float(data["created_at"]),
                updated_at=float(data["updated_at"]),
                path=path,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise DatacodyError(f"cannot read proposal file {path.name}: {exc}") from None

    def exists(self, proposal_id: str) -> bool:
        return self._path(proposal_id).exists()

    def add(self, proposal: Proposal) -> bool:
        """Store a new proposal as open; False (and no change) when it is already known."""
        path = self._path(proposal.id)
        if path.exists():
            return False
        now = time.time()
        self._write(
            path,
            {
                "proposal": proposal.model_dump(mode="json"),
                "status": "open",
                "created_at": now,
                "updated_at": now,
            },
        )
        return True

    def get(self, proposal_id: str) -> StoredProposal:
        matches = [p for p in self.folder.glob(f"{proposal_id}*.json")] if self.folder.is_dir() else []
        exact = self._path(proposal_id)
        if exact.exists():
            return self._read(exact)
        if len(matches) == 1:
            return self._read(matches[0])
        hint = "several match that prefix" if matches else "see `datacody proposals list`"
        raise DatacodyError(f"no proposal `{proposal_id}` ({hint})")

    def set_status(self, proposal_id: str, status: Status) -> StoredProposal:
        stored = self.get(proposal_id)
        self._write(
            stored.path,
            {
                "proposal": stored.proposal.model_dump(mode="json"),
                "status": status,
                "created_at": stored.created_at,
                "updated_at": time.time(),
            },
        )
        return self.get(stored.proposal.id)

    def all(self) -> list[StoredProposal]:
        if not self.folder.is_dir():
            return []
        return sorted(
            (self._read(p) for p in self.folder.glob("*.json") if not p.name.startswith(".")),
            key=lambda s: (s.status != "open", -s.proposal.score, s.created_at),
        )
