"""The one cron validator agrees with what Dagster does when the code location loads."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from datacody_dagster.cron import cron_problem, is_valid_cron
from datacody_dagster.optimizer.rules.cron import ticks_per_day

PROBES = [
    "0 6 * * *",
    "@daily",
    "0 6 * * mon-fri",
    "*/15 0-6 1,15 * *",
    "0 6 29 2 *",
    "99 25 * * *",
    "0 6 31 2 *",
    "0 6 30 2 *",
    "*/0 * * * *",
    "0 0 6 * * *",
    "0 6 * * 8",
    "every day",
]


def _dagster_loads(cron: str) -> bool:
    try:
        dg.ScheduleDefinition(name="probe", cron_schedule=cron, target="*")
    except Exception:
        return False
    return True


@pytest.mark.parametrize("cron", PROBES)
def test_validator_agrees_with_dagster(cron: str) -> None:
    assert is_valid_cron(cron) == _dagster_loads(cron)
    assert (cron_problem(cron) is None) == is_valid_cron(cron)


def test_optimizer_counts_ticks_only_of_valid_crons() -> None:
    assert ticks_per_day("0 6 * * *") == 1.0
    assert ticks_per_day("0 * * * *") == 24.0
    assert ticks_per_day("0 6 31 2 *") == 0.0


def test_verdicts_are_remembered_so_validate_needs_no_dagster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster decides once per expression and version; later processes read the verdict."""
    import subprocess
    import sys

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    probe = (
        "import sys\n"
        "from datacody_dagster.cron import cron_problem\n"
        "print(repr(cron_problem('0 6 * * *')), repr(cron_problem('0 6 31 2 *')), 'dagster' in sys.modules)\n"
    )

    def run() -> str:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    first = run()
    assert first.endswith("True")  # nothing remembered yet: Dagster decided
    second = run()
    assert second == first.removesuffix("True") + "False"  # the same verdicts, without Dagster
    assert second.startswith("None 'that day never occurs")
    assert list((tmp_path / "cache" / "datacody").glob("cron-verdicts-dagster-*.json"))
