"""Validation rules: names, references, cycles, SQL guard, check columns, schedules."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import diagnose
from tests.conftest import write_project


def _diags(root: Path) -> list[str]:
    _, diags = diagnose(root)
    return [d.format() for d in diags]


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": "assets:\n  orders:\n    sql: select 1 as id\n",
            "b.yaml": "assets:\n  orders:\n    sql: select 2 as id\n",
        },
    )
    (msg,) = _diags(tmp_path)
    assert msg.startswith("asset_specs/b.yaml:2:3: error DC100")
    assert "already defined at asset_specs/a.yaml:2:3" in msg


def test_unknown_dependency_names_closest(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        assets:
          stg_orders:
            sql: select 1 as id
          orders:
            sql: |
              select *
              from stg_ordrs
        """
        },
    )
    (msg,) = _diags(tmp_path)
    assert msg.startswith("asset_specs/a.yaml:7:")
    assert "unknown asset `stg_ordrs`" in msg and "did you mean `stg_orders`?" in msg


def test_cycle_is_printed(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        assets:
          a:
            sql: select * from c
          b:
            sql: select * from a
          c:
            sql: select * from b
        """
        },
    )
    msgs = _diags(tmp_path)
    assert len(msgs) == 1
    assert "DC102" in msgs[0]
    cycle = msgs[0].split("dependency cycle: ")[1].splitlines()[0]
    names = cycle.split(" -> ")
    assert names[0] == names[-1] and set(names) == {"a", "b", "c"}


def test_sql_syntax_error_points_inside_block(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        assets:
          t:
            sql: |
              select a,
                from where
        """
        },
    )
    (msg,) = _diags(tmp_path)
    assert "DC103" in msg
    assert msg.startswith("asset_specs/a.yaml:5:")


def test_ddl_dml_and_multiple_statements_refused(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        sources:
          raw: {path: data/x.csv}
        assets:
          d1: {sql: drop table raw}
          d2: {sql: "insert into raw select 1"}
          d3: {sql: "select 1; select 2"}
          d4: {sql: "copy raw to 'x.csv'"}
          d5: {sql: "attach 'x.db'"}
          d6: {sql: "pragma version"}
          d7: {sql: "create table x as select 1"}
        """
        },
    )
    msgs = _diags(tmp_path)
    assert len(msgs) == 7
    assert all("DC104" in m for m in msgs)
    assert any("DROP" in m for m in msgs) and any("2 statements" in m for m in msgs)


def test_check_names_unknown_column(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        assets:
          t:
            sql: select 1 as order_id, 2 as amount
            checks:
              - unique: order_idd
              - range: {column: amount, min: 0}
            columns:
              amount: {checks: [not_null]}
        """
        },
    )
    (msg,) = _diags(tmp_path)
    assert msg.startswith("asset_specs/a.yaml:5:")
    assert "unknown column `order_idd`" in msg and "did you mean `order_id`?" in msg


def test_csv_header_columns_are_known(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"a.yaml": "sources:\n  raw:\n    path: data/raw.csv\n    checks:\n      - not_null: [idd]\n"},
        {"data/raw.csv": "id,name\n1,a\n"},
    )
    (msg,) = _diags(tmp_path)
    assert "unknown column `idd`" in msg


def test_bad_cron_and_python_ref(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        assets:
          t:
            sql: select 1 as a
            schedule: "every day"
          p:
            python: not a ref
        """
        },
    )
    msgs = "\n".join(_diags(tmp_path))
    assert "DC108" in msgs and "asset_specs/a.yaml:4:5" in msgs
    assert "DC107" in msgs and "asset_specs/a.yaml:6:5" in msgs


def test_example_project_is_valid() -> None:
    from tests.conftest import REPO

    assert _diags(REPO) == []
