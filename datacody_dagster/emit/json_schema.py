"""JSON Schema of the spec language, from the pydantic models' field descriptions."""

from __future__ import annotations

from typing import Any

from datacody_dagster.spec import SpecFile

SCHEMA_ID = "https://datacody.dev/schemas/asset-spec.json"


def spec_json_schema() -> dict[str, Any]:
    schema = SpecFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "datacody asset spec"
    return schema
