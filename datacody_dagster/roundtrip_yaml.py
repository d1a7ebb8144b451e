"""The round-trip YAML loader: settings and the writers of spec files (comments and layout kept).

Specs themselves are read by compiler/parse.py with libyaml (3x faster, line and column kept).
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML


def yaml_loader() -> YAML:
    """Round-trip loader: keeps comments and layout (used by the writers of spec files)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def flow_style(value: Any) -> Any:
    """Short mappings and lists in flow style ({a: 1}, [x, y]), as people write them in specs."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        mapping = CommentedMap((k, flow_style(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(flow_style(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    return value
