"""An environment build does not start prod runs of eager assets (Dagster's own evaluator)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import dagster as dg

from datacody_dagster.compiler.plan import Node
from datacody_dagster.emit.dagster import automation_for
from datacody_dagster.run_markers import ENV_TAG


@dg.asset
def upstream() -> None:
    return None


@dg.asset(
    deps=[upstream], automation_condition=automation_for(cast(Node, SimpleNamespace(automation="eager")))
)
def reader() -> None:
    return None


def test_eager_reader_ignores_env_builds_of_its_upstream(tmp_path: Path) -> None:
    defs = dg.Definitions(assets=[upstream, reader])
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        assert dg.materialize([upstream, reader], instance=instance).success

        def requested(cursor: Any) -> tuple[set[str], Any]:
            result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
            keys = {r.key.to_user_string() for r in result.results if r.true_subset.size}
            return keys, result.cursor

        _, cursor = requested(None)
        # an environment's run rebuilds upstream: prod's eager reader is not requested
        assert dg.materialize([upstream], instance=instance, tags={ENV_TAG: "dev"}).success
        got, cursor = requested(cursor)
        assert "reader" not in got
        # prod's run does request it
        assert dg.materialize([upstream], instance=instance).success
        got, cursor = requested(cursor)
        assert "reader" in got
