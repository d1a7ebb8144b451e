"""One real cluster per mode for the module: a standalone master + two workers, then a Spark
Connect server. Tests run against one, then the other; every JVM is stopped by PID."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.cluster.processes import ConnectServer, Standalone, java_available, start_connect, start_standalone

# Small executors: 2 cores are shared by everyone on this machine.
STANDALONE_CONF = {
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": "2",
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "2",
    "spark.task.maxFailures": "4",
}
CONNECT_CONF = {"spark.sql.shuffle.partitions": "2"}
TIMEOUT_S = 20.0


@dataclass
class Cluster:
    mode: str  # standalone | connect
    procs: Standalone | ConnectServer
    settings: Any  # SparkSettings

    @property
    def url(self) -> str:
        return self.procs.url

    def yaml(self) -> str:
        """The `spark:` section of resources/dev.yaml for this cluster (URL from the environment)."""
        key = "master" if self.mode == "standalone" else "remote"
        conf = STANDALONE_CONF if self.mode == "standalone" else CONNECT_CONF
        lines = [f"spark:\n  {key}: ${{DC_TEST_SPARK_URL}}\n  connect_timeout_s: {TIMEOUT_S}\n  conf:\n"]
        lines += [f"    {k}: '{v}'\n" for k, v in conf.items()]
        return "".join(lines)


@pytest.fixture(scope="module", params=["standalone", "connect"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from datacody_dagster.config import SparkSettings
    from datacody_dagster.engines.spark import spark_session

    assert java_available(), "the cluster tests need Java 17 (java on PATH)"
    mode = str(request.param)
    work = tmp_path_factory.mktemp(f"spark-{mode}")
    procs: Standalone | ConnectServer
    if mode == "standalone":
        procs = start_standalone(work, workers=2)
        settings = SparkSettings(master=procs.url, conf=STANDALONE_CONF, connect_timeout_s=TIMEOUT_S)
    else:
        procs = start_connect(work)
        settings = SparkSettings(remote=procs.url, conf=CONNECT_CONF, connect_timeout_s=TIMEOUT_S)
    session = None
    try:
        session = spark_session(settings)
        yield Cluster(mode, procs, settings)
    finally:
        if session is not None:
            with contextlib.suppress(Exception):  # the fault tests stop the servers first
                session.stop()
        procs.stop()
