"""dvc pins antlr4 4.9 through hydra; dagster's selection parser needs 4.13. Both must work here."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning import record_output
from tests.versioning.helpers import items, write_atomic


def test_dvc_recording_and_string_asset_selection_work_in_one_process(tmp_path: Path) -> None:
    import dagster as dg

    out = tmp_path / "data" / "warehouse" / "flights" / "x.parquet"
    out.parent.mkdir(parents=True)
    write_atomic(items([(1, "a", 1.0)]), out)
    assert record_output(tmp_path, out, DvcSettings()).md5

    @dg.asset(group_name="flights")
    def stg_flights() -> None: ...

    @dg.asset(group_name="flights", deps=[stg_flights])
    def daily() -> None: ...

    @dg.asset(group_name="marts")
    def other() -> None: ...

    graph = dg.Definitions(assets=[stg_flights, daily, other]).resolve_asset_graph()
    assert dg.AssetSelection.from_string("group:flights").resolve(graph) == {
        dg.AssetKey("stg_flights"),
        dg.AssetKey("daily"),
    }
    assert dg.AssetSelection.from_string("stg_flights+").resolve(graph) == {
        dg.AssetKey("stg_flights"),
        dg.AssetKey("daily"),
    }
