"""The outcome of `datacody materialize`: one row per selected asset, and the errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from datacody_dagster.runtime.up_to_date import UP_TO_DATE


@dataclass(frozen=True)
class AssetRow:
    """One line of the summary table."""

    asset: str
    status: str  # materialized | failed | skipped | up to date | quarantined (failed blocking checks)
    rows: int | None
    seconds: float | None
    checks: str


@dataclass
class MaterializeSummary:
    """The rows in plan order, the errors, the wall time and the Dagster run (None: no run)."""

    rows: list[AssetRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    run_id: str | None = None
    checks: dict[str, list[tuple[str, bool, bool]]] = field(default_factory=dict)
    """Per asset of the run: (check name, passed, blocking) of each evaluated check."""

    @property
    def success(self) -> bool:
        return not self.errors and all(r.status in ("materialized", UP_TO_DATE) for r in self.rows)
