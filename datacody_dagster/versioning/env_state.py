"""What an environment holds, per asset: fingerprint, metadata hash, SQL, columns, data version.

The state is a small JSON file per environment (``data/.datacody/envs/<name>.json``, beside
the data it describes), written atomically, so a plan is computed from files alone, without a
Dagster run or an engine.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

if TYPE_CHECKING:
    from datacody_dagster.compiler import CompiledProject

PROD = "prod"
STATE_DIR = "data/.datacody/envs"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


def check_env_name(name: str) -> str:
    """Accept a safe environment name (it becomes a folder name) or raise a clear error."""
    if not _NAME.match(name):
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"invalid environment name `{name}`",
                hint="use lowercase letters, digits, `_` or `-`, starting with a letter (e.g. `dev_alice`)",
            )
        )
    return name


@dataclass(frozen=True)
class AssetState:
    """One asset as an environment holds it."""

    group: str
    kind: str
    fingerprint: str
    meta: str
    """Hash of what does not change data: description, owners, tags, checks, schedule."""
    config: str
    """Materialization settings that change how, not what, is stored."""
    sql: str | None = None
    columns: tuple[str, ...] | None = None
    column_types: dict[str, str] = field(default_factory=dict)
    deps: tuple[str, ...] = ()
    data_version: str | None = None
    path: str | None = None
    """Output path relative to the project root (prod's or the environment's own)."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = list(self.columns) if self.columns is not None else None
        data["deps"] = list(self.deps)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AssetState:
        cols = data.get("columns")
        return cls(
            group=data["group"],
            kind=data["kind"],
            fingerprint=data["fingerprint"],
            meta=data["meta"],
            config=data.get("config", ""),
            sql=data.get("sql"),
            columns=tuple(cols) if cols is not None else None,
            column_types=dict(data.get("column_types") or {}),
            deps=tuple(data.get("deps") or ()),
            data_version=data.get("data_version"),
            path=data.get("path"),
        )


@dataclass(frozen=True)
class EnvState:
    """An environment's assets; ``plan_id`` is the plan that last built or promoted it."""

    name: str
    assets: dict[str, AssetState] = field(default_factory=dict)
    plan_id: str | None = None
    base_digest: str | None = None
    """For an environment other than prod: the digest of prod's state it was planned against."""
    blocking_failures: tuple[str, ...] = ()
    promote: tuple[str, ...] = ()
    """Assets this environment built for its plan (what `apply` moves to prod)."""
    drop: tuple[str, ...] = ()
    """Assets the plan removes from prod's state."""

    def digest(self) -> str:
        """A stable hash of the held assets (prod "moved" when this changes)."""
        import hashlib

        body = json.dumps({k: v.to_json() for k, v in sorted(self.assets.items())}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plan_id": self.plan_id,
            "base_digest": self.base_digest,
            "blocking_failures": list(self.blocking_failures),
            "promote": list(self.promote),
            "drop": list(self.drop),
            "assets": {k: v.to_json() for k, v in sorted(self.assets.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvState:
        return cls(
            name=data["name"],
            plan_id=data.get("plan_id"),
            base_digest=data.get("base_digest"),
            blocking_failures=tuple(data.get("blocking_failures") or ()),
            promote=tuple(data.get("promote") or ()),
            drop=tuple(data.get("drop") or ()),
            assets={k: AssetState.from_json(v) for k, v in (data.get("assets") or {}).items()},
        )


def _canon(value: Any) -> str:
    import hashlib

    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def meta_hash(node: Node) -> str:
    """Hash of a node's metadata: edits here never need a rebuild."""
    checks = [(c.name, c.kind, c.arg_dict, c.severity) for c in node.checks]
    return _canon(
        [
            node.description,
            list(node.owners),
            node.tags,
            checks,
            node.column_descriptions,
            node.schedule,
            node.automation,
        ]
    )


def config_hash(node: Node) -> str:
    return _canon(
        [
            node.materialized,
            node.engine,
            list(node.incremental_key),
            node.incremental_cursor,
            list(node.partition_by),
        ]
    )


def asset_state(node: Node, data_version: str | None = None, path: str | None = None) -> AssetState:
    """The state entry of a planned node (what an environment holds after building it)."""
    return AssetState(
        group=node.group,
        kind=node.kind,
        fingerprint=node.fingerprint,
        meta=meta_hash(node),
        config=config_hash(node),
        sql=node.canonical_sql,
        columns=tuple(node.columns) if node.columns is not None else None,
        column_types=dict(node.column_types),
        deps=tuple(node.deps),
        data_version=data_version,
        path=path,
    )


def state_path(root: Path, env: str) -> Path:
    return root / STATE_DIR / f"{env}.json"


def load_state(root: Path, env: str) -> EnvState | None:
    """The stored state of ``env``, or None when it was never built."""
    path = state_path(root, env)
    if not path.exists():
        return None
    try:
        return EnvState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"{path.relative_to(root)}: unreadable environment state ({exc})",
                hint=f"delete the file and re-plan: `datacody plan --env {env}`",
            )
        ) from None


def save_state(root: Path, state: EnvState) -> Path:
    """Write the state atomically (temp file, fsync, rename)."""
    path = state_path(root, state.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        # One C-encoded string: json.dump (and any indent) takes the pure-Python encoder, which
        # made this write, once per materialized asset, grow with the project (~50 ms at 100).
        fh.write(json.dumps(state.to_json(), sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def list_states(root: Path) -> list[str]:
    folder = root / STATE_DIR
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def record_held(project: CompiledProject, node: Node, data_version: str | None) -> None:
    """Note that ``project.env`` now holds ``node`` as planned (called after each write).

    Read-modify-write under an exclusive file lock: parallel steps of one run record at once.
    """
    import fcntl

    folder = project.root / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = load_state(project.root, project.env) or EnvState(project.env)
            rel = project.output_path(node).relative_to(project.root).as_posix()
            assets = dict(state.assets)
            assets[node.name] = asset_state(node, data_version, rel)
            save_state(project.root, replace(state, assets=assets))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
