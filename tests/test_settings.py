"""resources/<env>.yaml: every ${VAR} / {env: VAR} resolved in one place, missing ones reported."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from datacody_dagster.config import load_settings
from datacody_dagster.errors import DatacodyError

PROD = """\
dvc:
  remote: ${DC_TEST_REMOTE}
spark:
  master: ${DC_TEST_MASTER}
  remote: {env: DC_TEST_CONNECT}
  conf:
    spark.executor.memory: ${DC_TEST_MEM:-1g}
    spark.executor.cores: 1
    spark.eventLog.dir: file://${DC_TEST_LOGS}/events
llm:
  model: ${DC_TEST_MODEL}
  base_url: {env: DC_TEST_LLM_URL}
"""
VARS = {
    "DC_TEST_REMOTE": "/srv/dvc-remote",
    "DC_TEST_MASTER": "spark://127.0.0.1:7077",
    "DC_TEST_CONNECT": "sc://127.0.0.1:15002",
    "DC_TEST_LOGS": "/var/log/spark",
    "DC_TEST_MODEL": "claude-test",
    "DC_TEST_LLM_URL": "http://127.0.0.1:9/v1",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "prod.yaml").write_text(PROD, encoding="utf-8")
    for name, value in VARS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DC_TEST_MEM", raising=False)
    return tmp_path


def test_spark_section_master_remote_and_conf_are_resolved(project: Path) -> None:
    spark = load_settings(project, "prod").spark
    assert spark.master == "spark://127.0.0.1:7077"
    assert spark.remote == "sc://127.0.0.1:15002"
    assert spark.conf == {
        "spark.executor.memory": "1g",  # the default after :-
        "spark.executor.cores": "1",  # numbers become Spark's text form
        "spark.eventLog.dir": "file:///var/log/spark/events",  # a reference inside a longer string
    }


def test_dvc_remote_is_resolved_and_reaches_dvc_config(project: Path) -> None:
    from datacody_dagster.versioning.dvcrepo import ensure_dvc_repo

    settings = load_settings(project, "prod")
    assert settings.dvc.remote == "/srv/dvc-remote"
    ensure_dvc_repo(project, settings.dvc)
    local = (project / ".dvc" / "config.local").read_text(encoding="utf-8")
    assert "url = /srv/dvc-remote" in local


def test_llm_section_is_resolved_into_the_resource(project: Path) -> None:
    from datacody_dagster.resources.llm import LlmResource

    llm = LlmResource.from_settings(load_settings(project, "prod").llm)
    assert (llm.model, llm.base_url) == ("claude-test", "http://127.0.0.1:9/v1")


def test_every_missing_variable_names_file_line_key_and_variable(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DC_TEST_MASTER")
    monkeypatch.delenv("DC_TEST_LLM_URL")
    with pytest.raises(DatacodyError) as info:
        load_settings(project, "prod")
    lines = [d.format() for d in info.value.diagnostics]
    assert len(lines) == 2, lines
    assert "resources/prod.yaml:4:11" in lines[0]
    assert "spark.master" in lines[0] and "DC_TEST_MASTER" in lines[0]
    assert "resources/prod.yaml:12:13" in lines[1]
    assert "llm.base_url" in lines[1] and "DC_TEST_LLM_URL" in lines[1]
    # Values of the variables that are set never appear in messages.
    assert not any(v in " ".join(lines) for v in VARS.values())


def test_cli_reports_a_missing_variable_with_exit_1_and_no_traceback(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "asset_specs").mkdir()
    (project / "asset_specs" / "s.yaml").write_text(
        textwrap.dedent("""\
            assets:
              a:
                sql: select 1 as x
            """),
        encoding="utf-8",
    )
    monkeypatch.setenv("DATACODY_ENV", "prod")
    monkeypatch.delenv("DC_TEST_REMOTE")
    result = CliRunner().invoke(app, ["validate", "-p", str(project)])
    assert result.exit_code == 1, result.output
    assert "dvc.remote" in result.output and "DC_TEST_REMOTE" in result.output
    assert "resources/prod.yaml:2:11" in result.output
    assert "Traceback" not in result.output
