"""One metric-query model: an export is a saved `MetricQuery`, validated and documented once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from datacody_dagster.cli.main import app
from datacody_dagster.compiler.exports import saved_query
from datacody_dagster.emit.json_schema import spec_json_schema
from datacody_dagster.spec import ExportSpec, MetricQuery

QUERY_FIELDS = ["metrics", "group_by", "where", "order_by", "limit"]


def test_an_export_is_a_metric_query_plus_asset_settings() -> None:
    assert issubclass(ExportSpec, MetricQuery)
    assert list(MetricQuery.model_fields) == QUERY_FIELDS
    export = ExportSpec(metrics=["departures"], group_by=["carrier"], order_by=["-departures"], limit=3)
    query = MetricQuery(**saved_query(export))
    assert query == MetricQuery(
        metrics=["departures"], group_by=["carrier"], order_by=["-departures"], limit=3
    )
    assert query.text() == export.text() == "metrics=departures;group_by=carrier;order_by=-departures;limit=3"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"metrics": []}, "at least 1 item"),
        ({"metrics": ["a"], "limit": 0}, "greater than or equal to 1"),
        ({"metrics": ["a"], "grop_by": ["b"]}, "Extra inputs are not permitted"),
    ],
)
def test_both_refuse_the_same_queries(fields: dict[str, object], says: str) -> None:
    for model in (MetricQuery, ExportSpec):
        with pytest.raises(ValidationError, match=says):
            model(**fields)


def test_the_schema_documents_an_export_as_before() -> None:
    export = spec_json_schema()["$defs"]["ExportSpec"]
    props = export["properties"]
    assert list(props) == [
        "description",
        "label",
        *QUERY_FIELDS,
        "owners",
        "checks",
        "schedule",
        "automation",
        "tags",
    ]
    assert export["required"] == ["metrics"] and export["additionalProperties"] is False
    assert props["metrics"]["minItems"] == 1 and props["limit"]["anyOf"][0]["minimum"] == 1
    assert props["metrics"]["description"] == "Metric names, e.g. [departures, cancellation_rate]."


def test_a_cli_query_without_metrics_exits_1_without_a_traceback() -> None:
    res = CliRunner().invoke(app, ["metrics", "query", "-m", " , "])
    assert res.exit_code == 1, res.output
    assert "needs at least one metric" in res.output and "Traceback" not in res.output
