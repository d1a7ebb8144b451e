"""The only YAML reader of spec files: pydantic models plus the position of every key.

Reading uses libyaml's composer (PyYAML's C loader), whose nodes carry line and column, so a
pydantic error at ``assets.orders.checks[2].range.min`` is reported at
``asset_specs/shop.yaml:31:17``. It is ~10x faster than ruamel's pure-Python round-trip
loader, which matters for 1,000-asset projects; ruamel is kept for *writing* specs (patches,
suggestions) because it preserves comments and layout. Booleans follow YAML 1.2 (`NO` and
`yes` stay strings, as users of country codes expect).
"""

from __future__ import annotations

import difflib
import gc
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml as pyyaml
from pydantic import ValidationError

from datacody_dagster import errors
from datacody_dagster.errors import Diagnostic, Location
from datacody_dagster.roundtrip_yaml import flow_style as flow_style
from datacody_dagster.roundtrip_yaml import yaml_loader as yaml_loader
from datacody_dagster.spec import SpecFile
from datacody_dagster.spec.checks import CHECK_KINDS

SPEC_SUFFIXES = (".yaml", ".yml")


class Position(NamedTuple):
    """Where a key (or list item) and its value start; 0-based like YAML marks."""

    key_line: int
    key_col: int
    value_line: int
    value_col: int
    block_scalar: bool = False


Positions = dict[tuple[str | int, ...], Position]


@dataclass(frozen=True)
class ParsedFile:
    """A spec file with the position of every key kept for messages."""

    path: Path
    display_path: str
    spec: SpecFile
    positions: Positions

    @property
    def group(self) -> str:
        return self.spec.group or self.path.stem

    def location(self, *keys: str | int) -> Location:
        """Position of the key at ``keys`` (the deepest one that exists)."""
        line, col = _position(self.positions, keys)
        return Location(self.display_path, line, col)

    def value_location(self, *keys: str | int) -> Location:
        """Position where the value at ``keys`` begins (first content line of a block scalar)."""
        pos = self.positions.get(tuple(keys))
        if pos is None:
            return self.location(*keys)
        if pos.block_scalar:
            return Location(self.display_path, pos.value_line + 2, pos.key_col + 3)
        return Location(self.display_path, pos.value_line + 1, pos.value_col + 1)


class _SpecLoader(getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's fast composer with YAML 1.2 booleans (`NO`, `yes`, `on` stay strings)."""


# YAML 1.1's timestamps are dropped too (1.2 has none): `2020-02-30` stays text instead of
# failing in the constructor without a position.
_SpecLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in pyyaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class DuplicateKeyError(Exception):
    def __init__(self, key: str, line: int, col: int):
        super().__init__(key)
        self.key, self.line, self.col = key, line, col


MAX_DEPTH = 40
"""Deepest nesting of mappings and lists a spec may use (real specs stay under 10)."""
MAX_NODES = 100_000
"""Most YAML nodes beyond what the text spells out (one per two characters) a file may expand
to, aliases counted at every use: refuses alias bombs, never a large plain file."""
MAX_BYTES = 2_000_000
"""Largest spec file read (a spec of 1,000 assets is ~300 KB)."""


class YamlLimitError(Exception):
    """A structural limit of spec files (depth, size, recursive alias) was exceeded."""

    def __init__(self, message: str, line: int, col: int, hint: str):
        super().__init__(message)
        self.message, self.line, self.col, self.hint = message, line, col, hint


def _index_positions(root: pyyaml.Node, out: Positions, max_nodes: int = MAX_NODES) -> None:
    """Record the position of every key and list item, walking iteratively.

    The walk also enforces the limits: an alias that contains itself, nesting beyond
    ``MAX_DEPTH`` and more than ``MAX_NODES`` nodes once aliases are expanded (a YAML "billion
    laughs" of 1.5 KB would otherwise expand to gigabytes) are refused at the node's position.
    """
    # (node, path, ids of the collection nodes above it)
    stack: list[tuple[pyyaml.Node, tuple[str | int, ...], frozenset[int]]] = [(root, (), frozenset())]
    visited = 0
    while stack:
        node, path, above = stack.pop()
        visited += 1
        mark = node.start_mark
        if visited > max_nodes:
            raise YamlLimitError(
                f"the file expands to more than {max_nodes:,} YAML nodes (aliases counted at each use)",
                mark.line,
                mark.column,
                "write the values out instead of repeating large anchors (`*name`)",
            )
        if not isinstance(node, (pyyaml.MappingNode, pyyaml.SequenceNode)):
            continue
        if id(node) in above:
            raise YamlLimitError(
                "recursive alias: an anchor is used inside its own value",
                mark.line,
                mark.column,
                "an alias (`*name`) may only refer to an anchor (`&name`) defined before and outside it",
            )
        if len(above) >= MAX_DEPTH:
            raise YamlLimitError(
                f"nesting deeper than {MAX_DEPTH} levels",
                mark.line,
                mark.column,
                "flatten this value; spec values are shallow mappings and lists",
            )
        inner = above | {id(node)}
        children: list[tuple[pyyaml.Node, tuple[str | int, ...], frozenset[int]]] = []
        if isinstance(node, pyyaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, pyyaml.ScalarNode):
                    kmark = key_node.start_mark
                    raise YamlLimitError(
                        "a key must be a plain name, not a mapping or list",
                        kmark.line,
                        kmark.column,
                        "write `name: value`",
                    )
                key = str(key_node.value)
                if key in seen:
                    raise DuplicateKeyError(key, key_node.start_mark.line, key_node.start_mark.column)
                seen.add(key)
                out[(*path, key)] = Position(
                    key_node.start_mark.line,
                    key_node.start_mark.column,
                    value_node.start_mark.line,
                    value_node.start_mark.column,
                    isinstance(value_node, pyyaml.ScalarNode) and value_node.style in ("|", ">"),
                )
                children.append((value_node, (*path, key), inner))
        else:
            for i, item in enumerate(node.value):
                imark = item.start_mark
                out[(*path, i)] = Position(imark.line, imark.column, imark.line, imark.column)
                children.append((item, (*path, i), inner))
        stack.extend(reversed(children))


def _position(positions: Positions, keys: tuple[str | int, ...]) -> tuple[int, int]:
    """1-based (line, col) of the deepest existing key on the path."""
    for depth in range(len(keys), 0, -1):
        pos = positions.get(tuple(keys[:depth]))
        if pos is not None:
            return pos.key_line + 1, pos.key_col + 1
    return 1, 1


def _load(text: str) -> tuple[Any, Positions]:
    """Plain data and key positions; raises PyYAML's MarkedYAMLError or DuplicateKeyError."""
    positions: Positions = {}
    loader = _SpecLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, positions
        # The walk allocates a tuple per node and creates no cycles: the collector's passes
        # over a growing heap would cost more than the walk itself.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            _index_positions(root, positions, MAX_NODES + len(text) // 2)
        finally:
            if gc_was_enabled:
                gc.enable()
        return loader.construct_document(root), positions
    finally:
        loader.dispose()


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
    model = _semantic_model_at(parents) or model
    return [f.alias or n.rstrip("_") for n, f in model.model_fields.items()]


def _semantic_model_at(parents: list[Any]) -> Any:
    """The spec model of a `semantic:` section or a `metrics:` entry, when the key sits in one."""
    from datacody_dagster.spec import DimensionSpec, EntitySpec, MeasureSpec, MetricSpec, SemanticSpec

    if parents[:1] == ["metrics"] and len(parents) == 2:
        return MetricSpec
    if "semantic" not in parents:
        return None
    inner = parents[parents.index("semantic") + 1 :]
    if not inner:
        return SemanticSpec
    if len(inner) == 2:
        return {"entities": EntitySpec, "dimensions": DimensionSpec, "measures": MeasureSpec}.get(inner[0])
    return None


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


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    offset = max(0, min(offset, len(text)))
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


# What YAML's reader refuses (C0 controls but tab/LF/CR, DEL, C1 but NEL, surrogates, U+FFFE/F).
_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _syntax_diagnostic(display_path: str, line: int, col: int, message: str, hint: str) -> Diagnostic:
    return Diagnostic(errors.YAML_SYNTAX, message, Location(display_path, line, col), hint)


def parse_spec_text(text: str, path: Path, display_path: str) -> tuple[ParsedFile | None, list[Diagnostic]]:
    """Parse one spec file's text; return the file or the diagnostics explaining why not."""
    bad = _UNPRINTABLE.search(text)
    if bad is not None:
        line, col = _line_col(text, bad.start())
        return None, [
            _syntax_diagnostic(
                display_path,
                line,
                col,
                f"control character U+{ord(bad.group()):04X} is not allowed in a spec file",
                "remove it (write `\\t`, `\\x1b`... inside a double-quoted string if the value needs it)",
            )
        ]
    if len(text) > MAX_BYTES:
        return None, [
            _syntax_diagnostic(
                display_path,
                1,
                1,
                f"spec file is larger than {MAX_BYTES:,} characters",
                "split the group into several spec files",
            )
        ]
    try:
        data, positions = _load(text)
    except YamlLimitError as exc:
        return None, [_syntax_diagnostic(display_path, exc.line + 1, exc.col + 1, exc.message, exc.hint)]
    except pyyaml.MarkedYAMLError as exc:
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
    except DuplicateKeyError as exc:
        return None, [
            Diagnostic(
                errors.YAML_SYNTAX,
                f"duplicate key `{exc.key}`",
                Location(display_path, exc.line + 1, exc.col + 1),
                "each key may appear once per mapping; merge or rename the entries",
            )
        ]
    except pyyaml.YAMLError as exc:  # the reader's errors carry an offset, not a mark
        line, col = _line_col(text, int(getattr(exc, "position", 0) or 0))
        return None, [
            _syntax_diagnostic(
                display_path, line, col, f"YAML error: {str(exc).splitlines()[0]}", "check the text here"
            )
        ]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None, [
            Diagnostic(
                errors.SPEC_SCHEMA,
                "a spec file must be a mapping with `sources:` and/or `assets:`",
                Location(display_path, 1, 1),
                "start the file with `group: <name>` and `assets:`",
            )
        ]
    try:
        spec = SpecFile.model_validate(data)
    except ValidationError as exc:
        diags: list[Diagnostic] = []
        seen: set[tuple[Any, ...]] = set()
        for err in exc.errors():
            # A key the user named like a union marker (`str:`) must not vanish from the path.
            keys = _loc_keys(err["loc"]) or tuple(err["loc"])
            if (keys, err["type"]) in seen:
                continue
            seen.add((keys, err["type"]))
            line, col = _position(positions, keys)
            where = (
                "".join(
                    c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in ".".join(str(k) for k in keys)
                )
                or "(file)"
            )
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
    return ParsedFile(path=path, display_path=display_path, spec=spec, positions=positions), []


def _drop_union_noise(diags: list[Diagnostic]) -> list[Diagnostic]:
    """A bad value in a union field yields one error per branch; keep one per location."""
    out: dict[Location | None, Diagnostic] = {}
    for d in diags:
        out.setdefault(d.location, d)
    return list(out.values())


def parse_spec_file(path: Path, root: Path) -> tuple[ParsedFile | None, list[Diagnostic]]:
    display = errors.relative_display_path(path, root)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [
            Diagnostic(errors.YAML_SYNTAX, f"cannot read spec file: {exc}", Location(display, 1, 1))
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(prefix, len(prefix))
        return None, [
            _syntax_diagnostic(
                display,
                line,
                col,
                f"spec files are UTF-8; byte 0x{raw[exc.start]:02x} here is not valid UTF-8",
                "save the file as UTF-8",
            )
        ]
    return parse_spec_text(text.removeprefix("\ufeff"), path, display)


def spec_paths(specs_dir: Path) -> list[Path]:
    if not specs_dir.is_dir():
        return []
    return sorted(p for p in specs_dir.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())


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
