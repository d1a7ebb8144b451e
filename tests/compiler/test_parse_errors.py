"""Every spec error is reported as file:line:col with a hint, all at once."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import diagnose
from tests.conftest import write_project


def _messages(root: Path) -> list[str]:
    _, diags = diagnose(root)
    return [d.format() for d in diags]


def test_unknown_key_typo_points_at_line_and_suggests(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "shop.yaml": """\
        group: shop
        assets:
          orders:
            sql: select 1 as id
            materialzed: view
        """
        },
    )
    msgs = _messages(tmp_path)
    assert len(msgs) == 1
    assert msgs[0].startswith("asset_specs/shop.yaml:5:5: error DC002")
    assert "unknown key `materialzed`" in msgs[0]
    assert "did you mean `materialized`?" in msgs[0]


def test_yaml_syntax_error_has_position(tmp_path: Path) -> None:
    write_project(tmp_path, {"bad.yaml": "assets:\n  a:\n    sql: [unclosed\n"})
    msgs = _messages(tmp_path)
    assert len(msgs) == 1
    assert msgs[0].startswith("asset_specs/bad.yaml:")
    assert "DC001" in msgs[0]
    line = int(msgs[0].split(":")[1])
    assert line >= 3


def test_all_errors_of_all_files_at_once(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
            assets:
              x:
                sql: select 1 as v
                checks:
                  - rnage: {column: v, min: 0}
                  - {row_count: {min: "many"}}
            """,
            "b.yaml": """\
            assets:
              y:
                description: no body
            """,
        },
    )
    msgs = _messages(tmp_path)
    joined = "\n".join(msgs)
    assert "asset_specs/a.yaml:5:" in joined and "did you mean `range`?" in joined
    assert "asset_specs/a.yaml:6:" in joined and "valid integer" in joined
    assert "asset_specs/b.yaml:3:" in joined or "asset_specs/b.yaml:2:" in joined
    assert "exactly one of `sql`, `python` or `from`" in joined
    assert len(msgs) == 3


def test_wrong_type_and_bad_enum(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "s.yaml": """\
        assets:
          t:
            sql: select 1 as a
            materialized: viewish
            owners: team
        """
        },
    )
    msgs = "\n".join(_messages(tmp_path))
    assert "s.yaml:4:5" in msgs and "materialized" in msgs
    assert "s.yaml:5:5" in msgs and "owners" in msgs
