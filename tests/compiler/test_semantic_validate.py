"""`semantic:` and `metrics:`: every wrong name is reported at file:line:col with the closest name."""

from __future__ import annotations

from pathlib import Path

from datacody_dagster.compiler import compile_project, diagnose
from datacody_dagster.emit.semantic import emit_semantic_files
from tests.conftest import write_project

SPEC = """\
assets:
  orders:
    sql: select 1 as order_id, 2 as customer_id, date '2024-01-01' as ordered_at, 9.5 as amount, 'FR' country
    semantic:
      entities:
        order: {type: primary, expr: order_id}
        customer: {expr: customer_idd}
      dimensions:
        ordered_at: {type: time, granularity: day}
        contry: {}
      measures:
        revenue: {agg: sum, expr: amount}
        order_count: {agg: count, expr: "1"}
metrics:
  revenue:
    measure: revenu
  orders:
    measure: order_count
    filter: "country_name = 'FR'"
  average_order:
    type: ratio
    numerator: revenue
    denominator: order
  growth:
    type: derived
    expr: revenue - ordrs
"""


def _messages(root: Path) -> list[str]:
    _, diags = diagnose(root)
    return [d.format() for d in diags]


def test_every_unknown_name_is_reported_with_location_and_closest_name(tmp_path: Path) -> None:
    write_project(tmp_path, {"shop.yaml": SPEC}, dvc=False)
    msgs = _messages(tmp_path)
    text = "\n".join(msgs)
    assert len(msgs) == 6, text
    expected = [
        ("asset_specs/shop.yaml:7:20: error DC105", "reads unknown column `customer_idd`", "`customer_id`"),
        ("asset_specs/shop.yaml:10:9: error DC105", "reads unknown column `contry`", "`country`"),
        ("asset_specs/shop.yaml:16:5: error DC121", "unknown measure `revenu`", "`revenue`"),
        ("asset_specs/shop.yaml:19:5: error DC121", "unknown dimension `country_name`", "`contry`"),
        ("asset_specs/shop.yaml:23:5: error DC121", "unknown metric or measure `order`", "`orders`"),
        ("asset_specs/shop.yaml:26:5: error DC121", "`ordrs` in `expr` is not a metric", "`orders`"),
    ]
    for where, what, hint in expected:
        assert any(m.startswith(where) and what in m and f"did you mean {hint}?" in m for m in msgs), (
            where,
            what,
            text,
        )


def test_semantic_on_a_python_asset_and_bad_names(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        assets:
          scores:
            python: my_pkg.mod:fn
            semantic:
              dimensions:
                Bad__Name: {}
        metrics:
          x:
            measure: nothing
        """
        },
        dvc=False,
    )
    text = "\n".join(_messages(tmp_path))
    assert "asset_specs/a.yaml:4:5: error DC120: `semantic:` on `scores` needs a SQL asset on DuckDB" in text
    assert "asset_specs/a.yaml:8:3: error DC120: metric `x`: names may hold lower case letters" in text


def test_valid_layer_compiles_to_metricflow_yaml(tmp_path: Path) -> None:
    spec = (
        SPEC.replace("customer_idd", "customer_id")
        .replace("contry", "country")
        .replace("revenu\n", "revenue\n")
    )
    spec = spec.replace("country_name", "country").replace("denominator: order\n", "denominator: orders\n")
    spec = spec.replace("revenue - ordrs", "revenue - orders")
    write_project(tmp_path, {"shop.yaml": spec}, dvc=False)
    assert _messages(tmp_path) == []
    files = emit_semantic_files(compile_project(tmp_path))
    text = files["models/datacody/shop/_shop__semantic.yml"]
    assert "model: ref('orders')" in text and "agg_time_dimension: ordered_at" in text
    assert "filter: '{{ Dimension(''order__country'') }} = ''FR'''" in text
    assert "models/datacody/metricflow_time_spine.sql" in files


def test_unknown_keys_in_semantic_and_metrics_suggest_the_right_key(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "a.yaml": """\
        assets:
          a:
            sql: select 1 as x
            semantic:
              dimensions:
                x: {typ: time}
              measurs: {}
        metrics:
          m: {measur: x}
        """
        },
        dvc=False,
    )
    msgs = _messages(tmp_path)
    for where, key in (("6:13", "type"), ("7:7", "measures"), ("9:7", "measure")):
        hint = f"did you mean `{key}`?"
        assert any(m.startswith(f"asset_specs/a.yaml:{where}:") and hint in m for m in msgs), msgs
