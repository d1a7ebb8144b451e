"""DC113: source reader `options:` use known keys and plain values (they are rendered into SQL)."""

from __future__ import annotations

from typing import Any

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import SourceSpec
from datacody_dagster.spec.names import name_problem

READER_OPTIONS = frozenset(
    {
        # read_csv
        "all_varchar", "allow_quoted_nulls", "auto_detect", "auto_type_candidates", "columns",
        "comment", "compression", "dateformat", "decimal_separator", "delim", "delimiter",
        "encoding", "escape", "filename", "force_not_null", "header", "hive_partitioning",
        "hive_types", "hive_types_autocast", "ignore_errors", "max_line_size", "names",
        "new_line", "normalize_names", "null_padding", "nullstr", "parallel", "quote",
        "rejects_limit", "sample_size", "sep", "skip", "store_rejects", "strict_mode",
        "timestampformat", "types", "dtypes", "union_by_name",
        # read_parquet
        "binary_as_string", "file_row_number",
        # read_json
        "format", "maximum_depth", "maximum_object_size", "records", "convert_strings_to_integers",
        "field_appearance_threshold", "map_inference_threshold",
    }
)  # fmt: skip
"""Reader options that only shape how a file is parsed (no path, no rejects table elsewhere)."""


def _value_problem(value: Any, depth: int = 0) -> str | None:
    if value is None or isinstance(value, (bool, int, float)):
        return None
    if isinstance(value, str):
        return "`{` and `}` are not allowed in option values" if "{" in value or "}" in value else None
    if isinstance(value, list) and depth == 0:
        return next((p for v in value if (p := _value_problem(v, 1)) is not None), None)
    if isinstance(value, dict) and depth == 0:
        for k, v in value.items():
            if name_problem(k) is not None:
                return f"`{k}` is not a column name"
            if isinstance(v, (dict, list)) or (p := _value_problem(v, 1)) is not None:
                return "a mapping option holds column names and plain values"
        return None
    return "an option value is a number, text, true/false, a list or a {column: type} mapping"


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for entry in index.entries:
        if not isinstance(entry.spec, SourceSpec):
            continue
        for key, value in entry.spec.options.items():
            loc = entry.location("options", key)
            if key not in READER_OPTIONS:
                diags.append(
                    Diagnostic(
                        errors.UNSAFE_OPTION,
                        f"source `{entry.name}`: unknown reader option `{key}`",
                        loc,
                        "options are DuckDB reader options such as delim, header, nullstr, types",
                    )
                )
                continue
            problem = _value_problem(value)
            if problem is not None:
                diags.append(
                    Diagnostic(errors.UNSAFE_OPTION, f"source `{entry.name}`: option `{key}`: {problem}", loc)
                )
    return diags
