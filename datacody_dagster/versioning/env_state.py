"""What an environment holds, per asset: fingerprint, metadata hash, SQL, columns, data version.

The state is a small JSON file per environment (``data/.datacody/envs/<name>.json``, beside
the data it describes), written atomically, so a plan is computed from files alone, without a
Dagster run or an engine. Materializations append to a journal beside it
(``<name>.journal``, one JSON line per asset) instead of rewriting the whole state per asset;
readers replay the journal over the state, and it is folded back into the state when it has
grown to the state's size (amortized O(1) per asset) or when the state is saved.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic

if TYPE_CHECKING:
    from datacody_dagster.compiler import CompiledProject

PROD = "prod"
STATE_DIR = "data/.datacody/envs"
ENVS_DIR = "data/envs"
"""An environment's outputs: ``data/envs/NAME/`` (prod's are the warehouse folder)."""
# Folders of STATE_DIR that hold no environment's state: an env of that name would be taken
# for them by a reader of the folder, so the names are refused.
RESERVED = ("applied", "workspaces", "locks", "discarded")
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
    if name in RESERVED:
        raise DatacodyError(
            Diagnostic(
                RUNTIME,
                f"environment name `{name}` is reserved (datacody keeps its own records under "
                f"{STATE_DIR}/{name}/)",
                hint=f"pick another name, e.g. `{name}_env`",
            )
        )
    return name


def env_output_root(root: Path, env: str) -> Path:
    """The environment's outputs folder, ``data/envs/NAME/``."""
    return root / ENVS_DIR / check_env_name(env)


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


def journal_path(root: Path, env: str) -> Path:
    """The append-only journal of ``env``'s materializations not yet folded into its state."""
    return root / STATE_DIR / f"{env}.journal"


_COMPACT_MIN_BYTES = 64 * 1024
"""The journal is folded into the state once it outgrows both this and the state file."""


@dataclass(frozen=True)
class _Journal:
    ident: str | None
    """The journal's id (its header line); the state names the id and offset it absorbed."""
    size: int
    entries: tuple[tuple[str, AssetState], ...]


def _read_journal(path: Path, absorbed: dict[str, Any] | None) -> _Journal | None:
    """The journal's entries after what the state already absorbed (None when there is none).

    A last line cut short by a crash is ignored: its asset keeps its previous state.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    lines = data.split(b"\n")
    complete, offset = lines[:-1], 0  # the part after the last newline is incomplete
    ident: str | None = None
    if complete:
        try:
            ident = json.loads(complete[0]).get("journal")
        except (ValueError, AttributeError):
            ident = None
    if absorbed and ident is not None and absorbed.get("id") == ident:
        offset = int(absorbed.get("offset") or 0)
    entries: list[tuple[str, AssetState]] = []
    position = 0
    for line in complete:
        end = position + len(line) + 1
        if position >= offset and line.strip():
            try:
                record = json.loads(line)
                if "asset" in record:
                    entries.append((record["asset"], AssetState.from_json(record["state"])))
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # a line torn by a crash mid-write
        position = end
    return _Journal(ident, len(data), tuple(entries))


def _read_state_file(root: Path, env: str) -> tuple[dict[str, Any], os.stat_result] | None:
    path = state_path(root, env)
    try:
        with open(path, encoding="utf-8") as fh:
            stat = os.fstat(fh.fileno())
            text = fh.read()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
    except (ValueError, TypeError) as exc:
        raise _unreadable(root, path, env, exc) from None
    return data, stat


def _unreadable(root: Path, path: Path, env: str, exc: Exception) -> DatacodyError:
    return DatacodyError(
        Diagnostic(
            RUNTIME,
            f"{path.relative_to(root)}: unreadable environment state ({exc})",
            hint=f"delete the file and re-plan: `datacody plan --env {env}`",
        )
    )


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _identity(stat: os.stat_result | None) -> tuple[int, int] | None:
    return (stat.st_ino, stat.st_mtime_ns) if stat is not None else None


def _load(root: Path, env: str) -> tuple[EnvState | None, _Journal | None]:
    path = state_path(root, env)
    for _ in range(5):
        read = _read_state_file(root, env)
        data, stat = read if read is not None else ({}, None)
        journal = _read_journal(journal_path(root, env), data.get("journal"))
        # A compaction writes the state before it removes the journal: if the state file did
        # not change while both were read, the journal read belongs to this state.
        if _identity(stat) == _identity(_stat_or_none(path)):
            break
    if read is None and journal is None:
        return None, None
    try:
        state = EnvState.from_json(data) if read is not None else EnvState(env)
    except (ValueError, KeyError, TypeError) as exc:
        raise _unreadable(root, path, env, exc) from None
    if journal is not None and journal.entries:
        state = replace(state, assets={**state.assets, **dict(journal.entries)})
    return state, journal


def load_state(root: Path, env: str) -> EnvState | None:
    """The stored state of ``env`` (its journal replayed), or None when it was never built."""
    return _load(root, env)[0]


def _write_state(root: Path, state: EnvState, journal: _Journal | None) -> Path:
    """Write the state atomically (temp file, fsync, rename), then drop the journal it absorbed.

    The state names the journal id and size it absorbed, so a crash between the rename and the
    journal's removal replays nothing twice. The caller holds the state lock.
    """
    path = state_path(root, state.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = state.to_json()
    if journal is not None and journal.ident is not None:
        body["journal"] = {"id": journal.ident, "offset": journal.size}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        # One C-encoded string: json.dump (and any indent) takes the pure-Python encoder.
        fh.write(json.dumps(body, sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    if journal is not None:
        journal_path(root, state.name).unlink(missing_ok=True)
    return path


@contextmanager
def _state_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the environment states (steps of parallel runs record at once)."""
    import fcntl

    folder = root / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def save_state(root: Path, state: EnvState) -> Path:
    """Replace ``state.name``'s state with ``state``, atomically (its journal is superseded)."""
    with _state_lock(root):
        journal = _read_journal(journal_path(root, state.name), None)
        return _write_state(root, state, journal)


def delete_state(root: Path, env: str) -> None:
    """Remove ``env``'s state and journal."""
    with _state_lock(root):
        state_path(root, env).unlink(missing_ok=True)
        journal_path(root, env).unlink(missing_ok=True)


def list_states(root: Path) -> list[str]:
    folder = root / STATE_DIR
    if not folder.is_dir():
        return []
    names = {p.stem for p in folder.glob("*.json")} | {p.stem for p in folder.glob("*.journal")}
    # apply's journal (``apply.journal.json``) and temp files are no environment's state.
    return sorted(n for n in names if n == PROD or (_NAME.match(n) and n not in RESERVED))


def _append(path: Path, entry: dict[str, Any]) -> int:
    """Append one JSON line (fsynced); returns the journal's size after it."""
    import uuid

    line = json.dumps(entry, sort_keys=True).encode() + b"\n"
    with open(path, "ab") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            line = json.dumps({"journal": uuid.uuid4().hex}).encode() + b"\n" + line
        else:
            with open(path, "rb") as tail:
                tail.seek(size - 1)
                if tail.read(1) != b"\n":
                    line = b"\n" + line  # end a line a crash cut short, so it stays alone
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
        return size + len(line)


def record_held(project: CompiledProject, node: Node, data_version: str | None) -> None:
    """Note that ``project.env`` now holds ``node`` as planned (called after each write).

    One line appended to the environment's journal, under an exclusive lock (parallel steps of
    one run record at once): O(1) per asset. Once the journal outgrows the state it is folded in.
    """
    root, env = project.root, project.env
    rel = project.output_path(node).relative_to(root).as_posix()
    entry = {"asset": node.name, "state": asset_state(node, data_version, rel).to_json()}
    with _state_lock(root):
        size = _append(journal_path(root, env), entry)
        try:
            state_size = state_path(root, env).stat().st_size
        except FileNotFoundError:
            state_size = 0
        if size > max(_COMPACT_MIN_BYTES, state_size):
            state, journal = _load(root, env)
            _write_state(root, state or EnvState(env), journal)
