"""MetricFlow's SqlClient over an in-memory DuckDB connection that reads the warehouse.

The semantic models' relations (``"datacody"."main"."stg_flights"``, as dbt names them) are
views over the assets' current outputs (Parquet in ``data/warehouse/``), so queries need no
write access to the project's DuckDB file and never wait for its lock.
"""

from __future__ import annotations

from typing import Any

from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

_NO_PARAMS = SqlBindParameterSet()


class DuckDbSqlClient:
    """Runs MetricFlow's SQL on a DuckDB connection (bind parameters are not used by queries)."""

    def __init__(self, con: Any):
        self.con = con
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    def _params(self, params: SqlBindParameterSet) -> dict[str, Any]:
        return dict(params.param_dict)

    def query(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = _NO_PARAMS
    ) -> MetricFlowDataTable:
        cursor = self.con.execute(stmt, self._params(sql_bind_parameter_set) or None)
        names = [d[0] for d in cursor.description]
        return MetricFlowDataTable.create_from_rows(column_names=names, rows=cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = _NO_PARAMS) -> None:
        self.con.execute(stmt, self._params(sql_bind_parameter_set) or None).fetchall()

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = _NO_PARAMS) -> None:
        self.con.execute(f"explain {stmt}", self._params(sql_bind_parameter_set) or None).fetchall()

    def close(self) -> None:
        self.con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"
