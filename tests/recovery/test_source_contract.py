"""Broken source files are rejected at load (file, spec line, column differences) and the
published output stays byte-identical; an intended change is accepted by flag or `columns:`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_project

pytestmark = pytest.mark.slow

SPEC = """\
group: shop
sources:
  raw_orders:
    path: data/raw/orders.csv
  raw_people:
    path: data/raw/people.csv
    columns:
      id: {type: integer}
      name: {}
"""
ORDERS = "id,customer_id,amount\n" + "".join(f"{i},{i % 7},{i % 13}\n" for i in range(1, 300))
PEOPLE = "id,name\n1,Ada\n2,Grace\n"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from datacody_dagster.runtime.materialize import materialize_project

    root = write_project(
        tmp_path_factory.mktemp("contract") / "p",
        {"shop.yaml": SPEC},
        {"data/raw/orders.csv": ORDERS, "data/raw/people.csv": PEOPLE},
        dvc=False,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(root / ".dagster_home"))
        assert materialize_project(root).success
        yield root


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ORDERS[: ORDERS.index("\n150,") + 6], "rows cut short"),  # truncated in the middle of a row
        (ORDERS + "300,1", "ends in a cut row"),  # only the last row cut: the reader pads it
        ("customer_id,amount\n1,10\n2,5\n", "lacks column `id`"),
        ("", "is empty (0 rows)"),
        ("id,customer_id,amount,discount\n1,1,10,0\n", "has new column `discount`"),
    ],
    ids=["cut-row", "last-row-cut", "missing-column", "zero-bytes", "extra-column"],
)
def test_broken_file_is_rejected_and_output_kept(root: Path, text: str, expected: str) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    raw, out = root / "data/raw/orders.csv", root / "data/warehouse/shop/raw_orders.parquet"
    before = _md5(out)
    raw.write_text(text)
    try:
        summary = materialize_project(root, select="raw_orders")
    finally:
        raw.write_text(ORDERS)
    assert not summary.success
    message = " ".join(summary.errors)
    assert "data/raw/orders.csv" in message and "asset_specs/shop.yaml:3:3" in message, message
    assert expected in message, message
    assert _md5(out) == before
    assert not list(out.parent.glob(".*.tmp"))


def test_intended_change_is_accepted_by_flag_or_columns(root: Path) -> None:
    from datacody_dagster.runtime.materialize import materialize_project

    raw, out = root / "data/raw/orders.csv", root / "data/warehouse/shop/raw_orders.parquet"
    raw.write_text("id,customer_id,amount,discount\n1,1,10,0\n")
    try:
        assert materialize_project(root, select="raw_orders", accept_schema_change=True).success
        assert "discount" in _columns(out)
    finally:
        raw.write_text(ORDERS)

    people = root / "data/raw/people.csv"
    people.write_text("id,full_name\n1,Ada\n")
    bad = materialize_project(root, select="raw_people")
    assert not bad.success and "lacks column `name` compared with its `columns:`" in " ".join(bad.errors)
    spec = root / "asset_specs/shop.yaml"
    spec.write_text(spec.read_text().replace("      name: {}", "      full_name: {}"))
    assert materialize_project(root, select="raw_people").success


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)
