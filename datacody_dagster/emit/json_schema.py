"""JSON Schema of the spec language, from the pydantic models' field descriptions."""

from __future__ import annotations

from typing import Any

from datacody_dagster.spec import SpecFile
from datacody_dagster.spec.check_kinds import KINDS

SCHEMA_ID = "https://datacody.dev/schemas/asset-spec.json"


def spec_json_schema() -> dict[str, Any]:
    """The schema editors use (VS Code YAML) to validate and complete spec files."""
    schema = SpecFile.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    # A check may also be a bare kind name (`checks: [unique, not_null]` under a column); the
    # pydantic "before" validator accepts it, so the schema must too.
    defs["CheckEntryObject"] = defs.pop("CheckEntry")
    defs["CheckEntry"] = {
        "anyOf": [
            {"$ref": "#/$defs/CheckEntryObject"},
            {
                "type": "string",
                "enum": [k.name for k in KINDS.values() if k.bare],
                "description": "A check kind without arguments.",
            },
        ]
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "datacody asset spec"
    return schema
