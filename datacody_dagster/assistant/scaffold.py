"""`datacody scaffold`: a spec file from a profiled sample (source, staging asset, suggested checks)."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from datacody_dagster.assistant.profile import ColumnProfile, FileProfile, profile_file
from datacody_dagster.compiler import diagnose
from datacody_dagster.config import load_settings
from datacody_dagster.errors import DatacodyError, Severity
from datacody_dagster.roundtrip_yaml import flow_style, yaml_loader

TABLE_MIN_ROWS = 10_000
PARTITION_MIN_ROWS = 1_000_000
_NAME = re.compile(r"[^0-9a-zA-Z_]+")


@dataclass(frozen=True)
class Recommendation:
    materialized: str
    partition_by: list[str]
    reason: str


def _plain(value: Any) -> Any:
    """Profile figures as YAML scalars (ints stay ints, others become floats)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def suggest_checks(profile: FileProfile) -> list[dict[str, Any]]:
    """Checks the profiled sample satisfies, as spec check entries."""
    checks: list[dict[str, Any]] = [{"row_count": {"min": 1}}]
    if profile.rows == 0:
        return checks
    complete = [c.name for c in profile.columns if c.nulls == 0]
    if complete:
        checks.append({"not_null": complete})
    keys = [
        c
        for c in profile.columns
        if c.nulls == 0
        and c.distinct == profile.rows
        and profile.rows > 1
        and not c.temporal
        and (c.text or not c.numeric or "id" in c.name.lower())
    ]
    keys.sort(key=lambda c: (not c.name.lower().endswith("id"), profile.columns.index(c)))
    if keys:
        checks.append({"unique": keys[0].name})
    for c in profile.columns:
        if c.numeric and c.min is not None and c.max is not None:
            lo, hi = _plain(c.min), _plain(c.max)
            if isinstance(lo, float):
                lo, hi = math.floor(lo), math.ceil(hi)
            checks.append({"range": {"column": c.name, "min": lo, "max": hi}})
        elif c.values and profile.rows >= 5 * len(c.values):
            checks.append({"accepted_values": {"column": c.name, "values": list(c.values)}})
    return checks


def _partition_column(columns: tuple[ColumnProfile, ...]) -> str | None:
    dates = [c for c in columns if c.type.upper() == "DATE" and c.distinct <= 5000]
    if dates:
        return dates[0].name
    periods = [
        c for c in columns if c.name.lower() in {"year", "month", "date", "day"} and 1 < c.distinct <= 400
    ]
    return periods[0].name if periods else None


def recommend(profile: FileProfile) -> Recommendation:
    if profile.rows < TABLE_MIN_ROWS:
        return Recommendation("view", [], f"{profile.rows:,} rows: cheap enough to read through a view")
    part = _partition_column(profile.columns) if profile.rows >= PARTITION_MIN_ROWS else None
    if part:
        return Recommendation("table", [part], f"{profile.rows:,} rows: a table partitioned by `{part}`")
    return Recommendation("table", [], f"{profile.rows:,} rows: stored once as a table, read by others")


def _asset_name(path: Path, name: str | None) -> str:
    base = name or path.name.split(".")[0]
    slug = _NAME.sub("_", base).strip("_").lower()
    if not slug or slug[0].isdigit():
        slug = f"t_{slug}"
    return slug


def build_spec(profile: FileProfile, source_path: str, name: str, group: str) -> str:
    """The spec YAML text: the source with types and checks, and a staging asset."""
    rec = recommend(profile)
    source = CommentedMap()
    source["path"] = source_path
    source["description"] = f"Scaffolded from {Path(source_path).name} ({profile.rows:,} rows profiled)"
    if profile.options:
        source["options"] = flow_style(dict(profile.options))
    columns = CommentedMap()
    for c in profile.columns:
        columns[c.name] = flow_style({"type": c.type.lower()})
    source["columns"] = columns
    # Block entries with flow arguments: `- range: {column: x, min: 0}`, as people write them.
    checks = CommentedSeq(
        CommentedMap((k, flow_style(v)) for k, v in c.items()) for c in suggest_checks(profile)
    )
    source["checks"] = checks
    stg = CommentedMap()
    stg["description"] = f"{name} as loaded, typed and checked"
    stg["materialized"] = rec.materialized
    if rec.partition_by:
        stg["partition_by"] = flow_style(rec.partition_by)
    stg["sql"] = LiteralScalarString(f"select * from {name}\n")
    stg.yaml_add_eol_comment(f"recommended: {rec.reason}", "materialized")
    doc = CommentedMap()
    doc["group"] = group
    doc["sources"] = CommentedMap([(name, source)])
    doc["assets"] = CommentedMap([(f"stg_{name}", stg)])
    doc.yaml_set_start_comment(
        f"Generated by `datacody scaffold` from {Path(source_path).name}.\n"
        "The checks describe the profiled sample: keep those that are rules of the data."
    )
    source.yaml_set_comment_before_after_key("checks", before="suggested from the profile", indent=4)
    yaml = yaml_loader()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


SCAFFOLD_PHASES = ["reading", "profiling", "writing", "validating"]
"""What `scaffold` does in order: read the project settings, profile the file, write and validate the spec."""


def scaffold(
    root: Path,
    file: Path,
    *,
    name: str | None = None,
    group: str | None = None,
    out: Path | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> tuple[Path, FileProfile]:
    """Profile ``file``, write a validating spec for it, return the spec path and the profile.

    ``on_phase`` hears each of SCAFFOLD_PHASES as it starts.
    """
    phase = on_phase or (lambda _name: None)
    phase("reading")
    root = root.resolve()
    file = file.resolve()
    try:
        source_path = str(file.relative_to(root))
    except ValueError:
        raise DatacodyError(
            f"`{file}` is outside the project {root}: copy it under the project (e.g. data/raw/) first"
        ) from None
    asset = _asset_name(file, name)
    settings = load_settings(root)
    target = (out or root / settings.specs_dir / f"{asset}.yaml").resolve()
    if target.exists():
        raise DatacodyError(f"{target} exists; pass --out to write elsewhere")
    phase("profiling")
    profile = profile_file(file)
    phase("writing")
    text = build_spec(profile, source_path, asset, group or asset)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    phase("validating")
    _, diags = diagnose(root)
    errs = [d for d in diags if d.severity == Severity.ERROR]
    if errs:
        target.unlink()
        raise DatacodyError([*errs])
    return target, profile
