"""The profile's histogram (one histogram() per column) counts rows exactly as drift's bin_terms do."""

from __future__ import annotations

from pathlib import Path

import duckdb

from datacody_dagster.checks import profile_for_metadata
from datacody_dagster.checks.profile import bin_terms
from tests.checks.helpers import target, write_parquet


def test_histogram_shares_equal_filtered_counts(tmp_path: Path) -> None:
    # ints, doubles with NaN and nulls, negatives, values equal to an edge, a constant column
    path = write_parquet(
        tmp_path / "t.parquet",
        "select i % 97 - 40 as a,"
        " case when i % 13 = 0 then null when i % 17 = 0 then 'nan'::double else (i % 31) / 3.0 end as b,"
        " case when i % 5 = 0 then null else 7 end as c, i::bigint as d"
        " from range(5000) t(i)",
    )
    profile = profile_for_metadata(target(path))
    con = duckdb.connect()
    checked = 0
    for name, col in profile["columns"].items():
        if not col.get("edges"):
            continue
        counts = con.execute(f"select {', '.join(bin_terms(name, col['edges']))} from '{path}'").fetchall()[0]
        assert col["shares"] == [round(n / profile["rows"], 6) for n in counts], name
        assert abs(sum(col["shares"]) - 1.0) < 1e-4
        checked += 1
    assert checked == 4
    assert profile["columns"]["b"]["shares"][-1] > 0  # the null bin
