"""When `datacody materialize` starts its dbt worker early (runtime/worker_hint.py)."""

from __future__ import annotations

import os
from pathlib import Path

from datacody_dagster.compiler import compile_project
from datacody_dagster.runtime.worker_hint import forget_settled, likely_nothing_to_do, remember_settled
from tests.conftest import write_project

SPEC = """\
group: shop
sources:
  raw_orders: {path: data/raw/orders.csv}
assets:
  totals:
    sql: select count(*) as n from raw_orders
"""


def _bump(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_unchanged_inputs_of_a_settled_run_predict_nothing_to_do(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": "id\n1\n"}, dvc=False)
    assert not likely_nothing_to_do(root)  # no settled run yet
    remember_settled(compile_project(root))
    assert likely_nothing_to_do(root)
    watched = ("data/raw/orders.csv", "asset_specs/shop.yaml", "resources/dev.yaml")
    for changed in (root / rel for rel in watched):
        _bump(changed)
        assert not likely_nothing_to_do(root), changed
        remember_settled(compile_project(root))
        assert likely_nothing_to_do(root)
    (root / "asset_specs" / "more.yaml").write_text("group: more\n")  # a new spec file
    assert not likely_nothing_to_do(root)
    remember_settled(compile_project(root))
    (root / "data/raw/new.csv").write_text("id\n2\n")  # a new file beside a source's
    assert not likely_nothing_to_do(root)
    remember_settled(compile_project(root))
    forget_settled(root)  # a failed or partial run
    assert not likely_nothing_to_do(root)
    (root / "data/.datacody/settled-inputs.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "data/.datacody/settled-inputs.json").write_text("{garbled")
    assert not likely_nothing_to_do(root)
