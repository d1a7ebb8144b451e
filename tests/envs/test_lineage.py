"""Column lineage (sqlglot) that decides which readers an upstream change reaches."""

from __future__ import annotations

from datacody_dagster.envs.lineage import ANY, column_reads

UP = {"orders": ["order_id", "customer_id", "amount", "status"], "customers": ["customer_id", "name"]}


def test_projection_and_row_columns_are_separated() -> None:
    reads = column_reads(
        "select o.customer_id, c.name, sum(o.amount) as total from orders o "
        "join customers c on c.customer_id = o.customer_id where o.status <> 'test' group by all",
        UP,
    )
    assert reads.projections == {
        "customer_id": {("orders", "customer_id")},
        "name": {("customers", "name")},
        "total": {("orders", "amount")},
    }
    assert reads.rows == {("orders", "customer_id"), ("customers", "customer_id"), ("orders", "status")}
    assert not reads.reads("orders", frozenset({"order_id"}))
    assert reads.reads("orders", frozenset({"amount"}))


def test_through_ctes_and_subqueries() -> None:
    reads = column_reads(
        "with big as (select order_id, amount * 2 as doubled from orders where amount > 10) "
        "select b.order_id, b.doubled from (select * from big) b",
        UP,
    )
    assert reads.projections["doubled"] == {("orders", "amount")}
    assert ("orders", "amount") in reads.rows  # the CTE's filter decides the rows


def test_star_projection_reads_every_column() -> None:
    reads = column_reads("select * from orders", UP)
    assert set(reads.projections) == set(UP["orders"])


def test_unknown_upstream_is_opaque_or_any() -> None:
    reads = column_reads("select * from nowhere", {})
    assert reads.opaque or any(c == ANY for cols in reads.projections.values() for _, c in cols)
    assert reads.reads("nowhere", frozenset({"x"}))
