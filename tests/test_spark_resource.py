"""The `spark` resource in the code location: dagster-pyspark's, configured from resources/*.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_project

SPEC = """\
sources:
  raw: {path: data/raw/x.csv}
assets:
  on_spark:
    engine: spark
    sql: select a from raw
  on_duck:
    sql: select a from raw
"""


def test_spark_projects_get_the_resource_with_resolved_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg
    from dagster_pyspark import LazyPySparkResource

    from datacody_dagster.definitions import build_definitions

    root = write_project(tmp_path, {"s.yaml": SPEC}, {"data/raw/x.csv": "a\n1\n"})
    with (root / "resources" / "dev.yaml").open("a", encoding="utf-8") as fh:
        fh.write(
            "spark:\n  remote: ${DC_TEST_REMOTE}\n  connect_timeout_s: 7\n  conf:\n"
            "    spark.hadoop.fs.s3a.secret.key: ${DC_TEST_SECRET}\n    spark.sql.shuffle.partitions: 3\n"
        )
    monkeypatch.setenv("DC_TEST_REMOTE", "sc://127.0.0.1:15002")
    monkeypatch.setenv("DC_TEST_SECRET", "s3cr3t-value")
    defs = build_definitions(root)
    spark = defs.resources["spark"]  # type: ignore[index]
    assert isinstance(spark, LazyPySparkResource)
    assert spark.spark_config["spark.remote"] == "sc://127.0.0.1:15002"
    assert spark.spark_config["spark.sql.shuffle.partitions"] == "3"
    assert spark.connect_timeout_s == 7
    # A credential reaches Spark when the session starts but is not part of the shown config.
    assert "s3cr3t-value" not in repr(spark.spark_config) and "s3cr3t-value" not in repr(spark)
    assert spark.hidden_conf() == {"spark.hadoop.fs.s3a.secret.key": "s3cr3t-value"}
    # Dagster rebuilds resources from their shown config: the credential is read again.

    expected = {"spark.hadoop.fs.s3a.secret.key": "s3cr3t-value"}

    @dg.asset(required_resource_keys={"spark"})
    def probe(context):  # type: ignore[no-untyped-def]
        return dg.MaterializeResult(metadata={"ok": context.resources.spark.hidden_conf() == expected})

    result = dg.materialize([probe], resources={"spark": spark})
    assert result.asset_materializations_for_node("probe")[0].metadata["ok"].value is True
    # Only the Spark asset's step needs the resource.
    needs = {
        key.to_user_string(): asset.required_resource_keys
        for asset in defs.assets or []
        for key in asset.keys  # type: ignore[union-attr]
    }
    assert "spark" in needs["on_spark"] and "spark" not in needs["on_duck"]


def test_duckdb_only_projects_have_no_spark_resource(tmp_path: Path) -> None:
    from datacody_dagster.definitions import build_definitions

    root = write_project(tmp_path, {"s.yaml": SPEC.replace("engine: spark", "engine: duckdb")})
    assert "spark" not in (build_definitions(root).resources or {})


def test_an_unreachable_master_is_an_error_naming_it_within_the_timeout() -> None:
    import time

    from datacody_dagster.config import SparkSettings
    from datacody_dagster.engines.spark import SparkUnreachable, spark_session
    from tests.cluster.processes import free_port

    url = f"spark://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(SparkUnreachable) as info:
        spark_session(SparkSettings(master=url, connect_timeout_s=2))
    assert time.monotonic() - started < 10
    text = info.value.diagnostics[0].format()
    assert f"the Spark master {url} did not answer within 2 s" in text and "connect_timeout_s" in text
