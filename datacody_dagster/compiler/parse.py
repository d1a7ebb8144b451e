"""The only YAML reader: spec files into pydantic models, with positions for every error.

ruamel.yaml keeps the line and column of every key and value, so a pydantic error at
``assets.orders.checks[2].range.min`` is reported at ``asset_specs/shop.yaml:31:17``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from datacody_dagster import errors
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.spec import SpecFile
from datacody_dagster.spec.checks import CHECK_KINDS

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ParsedFile:
    """A spec file with the YAML tree kept for positions."""

    path: Path
    display_path: str
    spec: SpecFile
    tree: Any

    @property
    def group(self) -> str:
        return self.spec.group or self.path.stem

    def location(self, *keys: str | int) -> Location:
        """Position of the key at ``keys`` (the deepest one that exists)."""
        line, col = _position(self.tree, keys)
        return Location(self.display_path, line, col)

    def value_location(self, *keys: str | int) -> Location:
        """Position where the value at ``keys`` begins (first content line of a block scalar)."""
        *parents, last = keys
        node = _walk(self.tree, parents)
        if not isinstance(node, CommentedMap) or last not in node:
            return self.location(*keys)
        line, col = node.lc.value(last)
        if isinstance(node[last], (LiteralScalarString, FoldedScalarString)):
            key_col = node.lc.key(last)[1]
            return Location(self.display_path, line + 2, key_col + 3)
        return Location(self.display_path, line + 1, col + 1)


def yaml_loader() -> YAML:
    """Round-trip loader: keeps comments and positions (also used by the spec writers)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def _walk(tree: Any, keys: list[str | int] | tuple[str | int, ...]) -> Any:
    node = tree
    for key in keys:
        if isinstance(node, CommentedMap) and key in node:
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def _position(tree: Any, keys: tuple[str | int, ...]) -> tuple[int, int]:
    """1-based (line, col) of the deepest existing key on the path."""
    node = tree
    line, col = 1, 1
    for key in keys:
        if isinstance(node, CommentedMap) and key in node:
            kline, kcol = node.lc.key(key)
            line, col = kline + 1, kcol + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            iline, icol = node.lc.item(key)
            line, col = iline + 1, icol + 1
            node = node[key]
        else:
            break
    return line, col


def _to_plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _to_plain(v) for k, v in node.items()}
    if isinstance(node, (CommentedSeq, list)):
        return [_to_plain(v) for v in node]
    if isinstance(node, (LiteralScalarString, FoldedScalarString)):
        return str(node)
    return node


_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "file": tuple(f.alias or n for n, f in SpecFile.model_fields.items()),
}


def _hint_for(err: dict[str, Any]) -> str | None:
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        bad = str(loc[-1])
        candidates = _sibling_keys(loc)
        close = difflib.get_close_matches(bad, candidates, n=1)
        if close:
            return f"did you mean `{close[0]}`?"
        if candidates:
            return "allowed keys here: " + ", ".join(candidates)
        return "remove this key"
    if kind == "missing":
        return f"add `{loc[-1]}:`"
    if "literal" in kind:
        return None
    return None


def _sibling_keys(loc: tuple[Any, ...]) -> list[str]:
    from datacody_dagster.spec import AssetSpecModel, CheckEntry, ColumnSpec, SourceSpec

    parents = [p for p in loc[:-1] if not isinstance(p, int)]
    model: Any = SpecFile
    if len(loc) >= 3 and loc[0] == "assets":
        model = AssetSpecModel
    if len(loc) >= 3 and loc[0] == "sources":
        model = SourceSpec
    if "checks" in parents and parents[-1] == "checks":
        model = CheckEntry
    elif "columns" in parents and parents[-2:-1] == ["columns"]:
        model = ColumnSpec
    if model is CheckEntry:
        return [*CHECK_KINDS, "severity", "name", "description"]
    return [f.alias or n.rstrip("_") for n, f in model.model_fields.items()]


def _loc_keys(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union-branch markers (``str``, ``list[str]``...) from an error loc."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in {"str", "bool", "int", "float"}):
            continue
        if isinstance(part, str) and part.startswith(("function-", "literal")):
            continue
        out.append(part)
    return tuple(out)


def parse_spec_text(text: str, path: Path, display_path: str) -> tuple[ParsedFile | None, list[Diagnostic]]:
    """Parse one spec file's text; return the file or the diagnostics explaining why not."""
    try:
        tree = yaml_loader().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(display_path, mark.line + 1, mark.column + 1) if mark else Location(display_path)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [
            Diagnostic(
                errors.YAML_SYNTAX,
                f"YAML syntax error: {problem}",
                loc,
                "check indentation and quoting near this position (a `:` inside a value needs quotes)",
            )
        ]
    if tree is None:
        tree = CommentedMap()
    if not isinstance(tree, CommentedMap):
        return None, [
            Diagnostic(
                errors.SPEC_SCHEMA,
                "a spec file must be a mapping with `sources:` and/or `assets:`",
                Location(display_path, 1, 1),
                "start the file with `group: <name>` and `assets:`",
            )
        ]
    try:
        spec = SpecFile.model_validate(_to_plain(tree))
    except ValidationError as exc:
        diags: list[Diagnostic] = []
        seen: set[tuple[Any, ...]] = set()
        for err in exc.errors():
            keys = _loc_keys(err["loc"])
            if (keys, err["type"]) in seen:
                continue
            seen.add((keys, err["type"]))
            line, col = _position(tree, keys)
            where = ".".join(str(k) for k in keys) or "(file)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key `{keys[-1]}`"
            diags.append(
                Diagnostic(
                    errors.SPEC_SCHEMA,
                    f"{where}: {msg}",
                    Location(display_path, line, col),
                    _hint_for({**err, "loc": keys}),
                )
            )
        return None, _drop_union_noise(diags)
    return ParsedFile(path=path, display_path=display_path, spec=spec, tree=tree), []


def _drop_union_noise(diags: list[Diagnostic]) -> list[Diagnostic]:
    """A bad value in a union field yields one error per branch; keep one per location."""
    out: dict[Location | None, Diagnostic] = {}
    for d in diags:
        out.setdefault(d.location, d)
    return list(out.values())


def parse_spec_file(path: Path, root: Path) -> tuple[ParsedFile | None, list[Diagnostic]]:
    display = errors.relative_display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Diagnostic(errors.YAML_SYNTAX, f"cannot read spec file: {exc}", Location(display))]
    return parse_spec_text(text, path, display)


def spec_paths(specs_dir: Path) -> list[Path]:
    if not specs_dir.is_dir():
        return []
    return sorted(
        p for p in specs_dir.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file()
    )


def parse_specs(specs_dir: Path, root: Path) -> tuple[list[ParsedFile], list[Diagnostic]]:
    """Parse every spec file; diagnostics of all files are returned together."""
    files: list[ParsedFile] = []
    diags: list[Diagnostic] = []
    for path in spec_paths(specs_dir):
        parsed, file_diags = parse_spec_file(path, root)
        diags.extend(file_diags)
        if parsed is not None:
            files.append(parsed)
    return files, diags
