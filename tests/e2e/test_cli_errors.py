"""Broken specs: exit 1, file and line in the message, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import datacody_bin, write_project

GOOD = """\
sources:
  raw_orders: {path: data/orders.csv}
assets:
  stg_orders:
    sql: select id, amount from raw_orders
"""

CASES = {
    "key_typo": (GOOD + "    materialzed: view\n", "shop.yaml:6:5", "did you mean `materialized`?"),
    "unknown_dependency": (
        GOOD + "  orders:\n    sql: select * from stg_ordres\n",
        "shop.yaml:7:",
        "stg_orders",
    ),
    "cycle": (
        GOOD.replace("from raw_orders", "from orders") + "  orders:\n    sql: select * from stg_orders\n",
        "shop.yaml:",
        "dependency cycle:",
    ),
    "sql_syntax": (GOOD + "  orders:\n    sql: |\n      select id,\n      from\n", "shop.yaml:", "DC103"),
    "drop_table": (GOOD + "  orders:\n    sql: drop table raw_orders\n", "shop.yaml:7:", "DROP"),
    "yaml_syntax": (GOOD + "  orders: [\n", "shop.yaml:", "DC001"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "compile", "materialize"])
def test_broken_spec_exits_1_with_location(tmp_path: Path, case: str, command: str) -> None:
    text, where, what = CASES[case]
    write_project(tmp_path, {"shop.yaml": text}, {"data/orders.csv": "id,amount\n1,2\n"}, dvc=False)
    proc = subprocess.run(
        [datacody_bin(), command, "--project-dir", str(tmp_path)], capture_output=True, text=True
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Traceback" not in output
    assert f"asset_specs/{where}" in output, output
    assert what in output, output
    assert not (tmp_path / "dbt_project").exists()  # nothing half-written


def test_bad_selection_is_a_clear_error(tmp_path: Path) -> None:
    write_project(tmp_path, {"shop.yaml": GOOD}, {"data/orders.csv": "id,amount\n1,2\n"}, dvc=False)
    proc = subprocess.run(
        [datacody_bin(), "materialize", "-p", str(tmp_path), "--select", "nosuchasset"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "nosuchasset" in proc.stderr
