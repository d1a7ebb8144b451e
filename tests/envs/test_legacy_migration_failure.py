"""A legacy env-run clean-up that fails is said, never raised, and not retried at every sensor tick."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from datacody_dagster import instance as instance_module
from datacody_dagster import legacy_env_runs


def test_a_failing_clean_up_is_said_once_an_hour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def refuse(instance: object, home: Path, say: object = None) -> None:
        calls.append(home)
        raise PermissionError("role has no DELETE")

    monkeypatch.setattr(legacy_env_runs, "migrate", refuse)
    monkeypatch.setattr(instance_module, "_FAILED_AT", {})
    said: list[str] = []
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance_module.migrate_instance(instance, said.append)
        instance_module.migrate_instance(instance, said.append)  # the next tick: not again
        assert len(calls) == 1
        assert len(said) == 1 and "role has no DELETE" in said[0]
        monkeypatch.setattr(instance_module, "_RETRY_FAILED_S", 0.0)
        instance_module.migrate_instance(instance, said.append)  # an hour later
        assert len(calls) == 2
