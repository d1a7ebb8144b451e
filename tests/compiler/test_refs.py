"""One `{{ ref() }}` / `{{ source() }}` pattern: the compiler and the Spark translation agree."""

from __future__ import annotations

import pytest

from datacody_dagster.compiler.sql import strip_jinja_refs
from datacody_dagster.engines.spark import to_spark_sql


@pytest.mark.parametrize(
    ("sql", "plain"),
    [
        ("select * from {{ ref('orders') }}", "select * from orders"),
        ('select * from {{ref("orders")}}', "select * from orders"),
        ("select * from {{ source('raw', 'orders') }}", "select * from orders"),
        ('select * from {{ source("raw","orders") }} o', "select * from orders o"),
    ],
)
def test_ref_forms_read_as_plain_names(sql: str, plain: str) -> None:
    assert strip_jinja_refs(sql) == plain
    assert to_spark_sql(sql, {"orders": "t_orders"}) == to_spark_sql(plain, {"orders": "t_orders"})
    assert "t_orders" in to_spark_sql(sql, {"orders": "t_orders"})
