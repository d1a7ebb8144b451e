"""The ``spark`` resource: dagster-pyspark's lazy PySpark resource, configured from resources/*.yaml.

Dagster users know it (``LazyPySparkResource``; it shows on the Resources page with its Spark
configuration); the session starts only when a Spark asset or check asks for it, and stops
when the step's resources are torn down. Local mode, a standalone cluster (``spark.master:
spark://host:7077``) and Spark Connect (``spark.remote: sc://host:15002``) are all the same
resource. Configuration values whose key looks like a credential are kept out of the shown
configuration: the resource re-reads them from ``resources/<env>.yaml`` (env-resolved) when the
session starts, since Dagster rebuilds resources from their shown configuration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_pyspark import LazyPySparkResource
from pydantic import Field, PrivateAttr

from datacody_dagster.config import SparkSettings

_CREDENTIAL = re.compile(r"secret|password|token|credential|access\.?key|session\.?key", re.IGNORECASE)


def _shown(conf: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in conf.items() if not _CREDENTIAL.search(k)}


class SparkResource(LazyPySparkResource):
    """A SparkSession for Spark assets, steps and checks (local, standalone or Spark Connect)."""

    connect_timeout_s: float = Field(
        30.0, description="Seconds to wait for the master or Connect server before the step fails."
    )
    project_dir: str | None = Field(
        None, description="Project whose resources/<env>.yaml holds the credential settings."
    )
    _started_here: bool = PrivateAttr(default=False)

    @classmethod
    def from_settings(cls, settings: SparkSettings, project_dir: Path | None = None) -> SparkResource:
        """The resource described by ``spark:`` in resources/<env>.yaml (already env-resolved)."""
        from datacody_dagster.engines.spark import session_config

        return cls(
            spark_config=_shown(session_config(settings)),
            connect_timeout_s=settings.connect_timeout_s,
            project_dir=str(project_dir) if project_dir is not None else None,
        )

    def hidden_conf(self) -> dict[str, str]:
        """The credential settings left out of ``spark_config`` (read when a session starts)."""
        if self.project_dir is None:
            return {}
        from datacody_dagster.config import load_settings
        from datacody_dagster.engines.spark import session_config

        conf = session_config(load_settings(Path(self.project_dir)).spark)
        return {k: v for k, v in conf.items() if k not in _shown(conf)}

    def _init_session(self) -> None:
        if self._spark_session is None:
            from pyspark.sql import SparkSession

            from datacody_dagster.engines.spark import open_session

            before = SparkSession.getActiveSession()
            config = {**self.spark_config, **self.hidden_conf()}
            self._spark_session = open_session(config, self.connect_timeout_s)
            self._started_here = self._spark_session is not before

    @property
    def url(self) -> str:
        """Where the session runs: the Connect URL, the master URL or ``local[N]``."""
        return str(self.spark_config.get("spark.remote") or self.spark_config.get("spark.master", "local"))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # A cluster application holds executors (cores, memory) until its session stops; a
        # local session is kept for the next run in this process (it takes ~10 s to start).
        from datacody_dagster.engines.spark import endpoint

        session: Any = self._spark_session
        if session is not None and self._started_here and endpoint(self.spark_config) is not None:
            session.stop()
            self._spark_session = None
