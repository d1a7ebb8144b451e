"""Apply a proposal to its spec file: ruamel round-trip (comments and layout kept), diff, re-validate.

The spec file is rewritten only when the patched project still validates; otherwise the
original text is put back and the diagnostics are raised. Nothing here runs unless a person asked
for it (`datacody proposals apply ID`).
"""

from __future__ import annotations

import difflib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from datacody_dagster import errors
from datacody_dagster.compiler import diagnose
from datacody_dagster.compiler.checks import plan_checks
from datacody_dagster.compiler.index import Entry
from datacody_dagster.compiler.sql import SqlProblem, parse_select
from datacody_dagster.errors import DatacodyError, Diagnostic, Location, Severity
from datacody_dagster.optimizer import model as m
from datacody_dagster.roundtrip_yaml import flow_style, yaml_loader
from datacody_dagster.spec import CheckEntry
from datacody_dagster.spec.check_kinds import kind_info

# Common indentation styles (mapping, sequence, offset); the one that reproduces the file wins.
_STYLES = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (2, 3, 1))
# Where a new key goes: right after the last of these that the asset already has.
_KEY_ORDER = (
    "description",
    "materialized",
    "incremental",
    "partition_by",
    "sql",
    "python",
    "deps",
    "from",
    "steps",
    "columns",
    "checks",
    "schedule",
    "automation",
)


@dataclass(frozen=True)
class PatchResult:
    """The file a proposal changes, its text before and after, and the unified diff."""

    path: Path
    display_path: str
    old_text: str
    new_text: str

    @property
    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                fromfile=f"a/{self.display_path}",
                tofile=f"b/{self.display_path}",
            )
        )


def _dump(yaml: YAML, tree: Any) -> str:
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


def _styled_loader(text: str) -> YAML:
    best: tuple[int, YAML] | None = None
    for mapping, sequence, offset in _STYLES:
        yaml = yaml_loader()
        yaml.width = 4096
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        dumped = _dump(yaml, yaml.load(text))
        if dumped == text:
            return yaml
        score = sum(1 for line in difflib.ndiff(text.splitlines(), dumped.splitlines()) if line[:1] in "+-")
        if best is None or score < best[0]:
            best = (score, yaml)
    assert best is not None
    return best[1]


def _set_key(node: CommentedMap, key: str, value: Any) -> None:
    if key in node:
        node[key] = value
        return
    rank = _KEY_ORDER.index(key) if key in _KEY_ORDER else len(_KEY_ORDER)
    pos = 0
    for i, existing in enumerate(node):
        if existing in _KEY_ORDER and _KEY_ORDER.index(existing) < rank:
            pos = i + 1
    node.insert(pos, key, value)


def _replace_schedule(node: CommentedMap, key: str, value: Any) -> None:
    """Put `schedule`/`automation` where the one it replaces was (they exclude each other)."""
    other = "automation" if key == "schedule" else "schedule"
    if other in node:
        pos = list(node).index(other)
        del node[other]
        if key in node:
            node[key] = value
        else:
            node.insert(pos, key, value)
    else:
        _set_key(node, key, value)


def _check_paths(entry: Entry) -> dict[str, tuple[tuple[str | int, ...], str | None, bool]]:
    """Planned check name -> (YAML keys of its entry, its column, whether the entry holds several)."""
    triples: list[tuple[CheckEntry, str | None, Location | None]] = []
    for i, c in enumerate(entry.spec.checks):
        triples.append((c, None, Location(json.dumps(["checks", i]))))
    for col, col_spec in entry.spec.columns.items():
        for i, c in enumerate(col_spec.checks):
            triples.append((c, col, Location(json.dumps(["columns", col, "checks", i]))))
    planned = plan_checks(entry.name, triples)
    per_entry: dict[str, int] = {}
    for p in planned:
        assert p.location is not None
        per_entry[p.location.file] = per_entry.get(p.location.file, 0) + 1
    out = {}
    for p in planned:
        assert p.location is not None
        keys = tuple(json.loads(p.location.file))
        out[p.name] = (keys, p.column, per_entry[p.location.file] > 1)
    return out


def _walk(node: Any, keys: tuple[str | int, ...]) -> Any:
    for key in keys:
        node = node[key]
    return node


def _split_off(seq: CommentedSeq, index: int, kind: str, column: str) -> CommentedMap:
    """Take `column` out of a multi-column `not_null: [a, b]` entry; return a new one-column entry."""
    item = seq[index]
    cols = item[kind]
    cols.remove(column)
    single = CommentedMap([(kind, flow_style([column]))])
    for extra in ("severity", "name", "description"):
        if extra in item:
            single[extra] = item[extra]
    return single


def _edit_check(asset: CommentedMap, entry: Entry, patch: m.TuneCheck | m.RemoveCheck) -> None:
    paths = _check_paths(entry)
    if patch.check not in paths:
        known = ", ".join(sorted(paths)) or "none"
        raise DatacodyError(f"asset `{entry.name}` has no check `{patch.check}` (its checks: {known})")
    keys, column, shared = paths[patch.check]
    seq = _walk(asset, keys[:-1])
    index = keys[-1]
    assert isinstance(index, int)
    item = seq[index]
    if isinstance(item, str):  # bare `unique` under a column
        item = CommentedMap([(item, kind_info(item).bare_value)])
        seq[index] = item
    kind = next(k for k in item if k not in {"severity", "name", "description"})
    if shared and column is not None:
        single = _split_off(seq, index, kind, column)
        if isinstance(patch, m.RemoveCheck):
            return
        seq.append(single)
        item = single
    elif isinstance(patch, m.RemoveCheck):
        del seq[index]
        if not seq:
            parent = _walk(asset, keys[:-2])
            del parent[keys[-2]]
        return
    if patch.severity:
        item["severity"] = patch.severity
    if patch.args:
        args = item[kind]
        if not isinstance(args, dict):
            raise DatacodyError(f"check `{patch.check}` ({kind}) takes no arguments to tune")
        for k, v in patch.args.items():
            args[k] = v


def _apply_to_node(asset: CommentedMap, entry: Entry, patch: Any) -> None:
    match patch:
        case m.SetSchedule(cron=cron):
            _replace_schedule(asset, "schedule", cron)
        case m.SetAutomation(automation="eager"):
            _replace_schedule(asset, "automation", "eager")
        case m.SetAutomation(automation="on_cron", on_cron=cron):
            if not cron:
                raise DatacodyError("automation on_cron needs a cron expression")
            _replace_schedule(asset, "automation", flow_style({"on_cron": cron}))
        case m.SetMaterialization(materialized=materialized):
            _set_key(asset, "materialized", materialized)
            if materialized != "incremental" and "incremental" in asset:
                del asset["incremental"]
        case m.SetIncremental(unique_key=key, cursor=cursor):
            _set_key(asset, "materialized", "incremental")
            spec: dict[str, Any] = {}
            if key:
                spec["unique_key"] = key[0] if len(key) == 1 else list(key)
            if cursor:
                spec["cursor"] = cursor
            _set_key(asset, "incremental", flow_style(spec))
        case m.SetPartitions(columns=columns):
            _set_key(asset, "partition_by", flow_style(list(columns)))
        case m.AddCheck(check=check):
            try:
                CheckEntry.model_validate(check)
            except ValidationError as exc:
                raise DatacodyError(f"the proposed check is not valid: {exc.errors()[0]['msg']}") from None
            if "checks" not in asset:
                _set_key(asset, "checks", CommentedSeq())
            asset["checks"].append(flow_style(dict(check)))
        case m.TuneCheck() | m.RemoveCheck():
            _edit_check(asset, entry, patch)
        case m.MergeDuplicates(into=into):
            _set_key(asset, "materialized", "view")
            _set_key(asset, "sql", LiteralScalarString(f"select * from {into}\n"))
            for stale_key in ("incremental", "partition_by"):
                if stale_key in asset:
                    del asset[stale_key]
        case m.SetSql(sql=sql):
            parsed = parse_select(sql)
            if isinstance(parsed, SqlProblem):
                raise DatacodyError(f"the proposed SQL is rejected: {parsed.message}")
            _set_key(asset, "sql", LiteralScalarString(sql.rstrip() + "\n"))
        case _:
            raise DatacodyError(f"unknown patch operation {getattr(patch, 'op', patch)!r}")


def render_patch(root: Path, proposal: m.Proposal) -> PatchResult:
    """The patched text of the proposal's spec file, without writing anything."""
    index, _ = diagnose(root)
    entry = index.by_name().get(proposal.asset) if index else None
    if entry is None:
        raise DatacodyError(
            f"proposal {proposal.id}: asset `{proposal.asset}` is not in the project any more"
        )
    path = entry.file.path
    old = path.read_text(encoding="utf-8")
    yaml = _styled_loader(old)
    tree = yaml.load(old)
    asset = tree[entry.section][entry.name]
    _apply_to_node(asset, entry, proposal.patch)
    return PatchResult(
        path=path, display_path=entry.file.display_path, old_text=old, new_text=_dump(yaml, tree)
    )


def apply_patch(root: Path, proposal: m.Proposal) -> PatchResult:
    """Write the patched spec, re-validate the project, and roll back if it does not validate."""
    result = render_patch(root, proposal)
    if result.new_text == result.old_text:
        return result
    result.path.write_text(result.new_text, encoding="utf-8")
    try:
        _, diags = diagnose(root)
    except Exception:
        result.path.write_text(result.old_text, encoding="utf-8")
        raise
    errs = [d for d in diags if d.severity == Severity.ERROR]
    if errs:
        result.path.write_text(result.old_text, encoding="utf-8")
        raise DatacodyError(
            [
                *errs,
                Diagnostic(
                    errors.RUNTIME,
                    f"proposal {proposal.id} not applied: the patched "
                    "project does not validate; the spec file is unchanged",
                    Location(result.display_path),
                ),
            ]
        )
    return result
