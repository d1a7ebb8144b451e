"""The way out of an apply journal that cannot be finished: `datacody rollback --discard-journal`.

After a crashed `apply`, every prod writer refuses while its journal is on disk, and the commands
that can finish it roll it forward (``envs/apply.recover_holding_lock``). This first tries that
too; when finishing fails for good (a staged copy deleted by hand, an unreadable journal, a broken
DVC repo), it discards the journal, holding prod's lock exclusively: per asset of the journal it
finds from the bytes on disk whether the apply had already swapped it in, puts prod's bytes from
before the apply back from DVC's cache where it can (a copy the apply added is removed), keeps the
new bytes where the old ones are not in the cache, writes prod's state to match what is now on
disk, and moves the journal, with a report of all this, into ``data/.datacody/envs/discarded/``
(one rename: the journal is gone or still whole). Run again after a crash midway, it does the same
from where it stopped: the journal says ``discarding`` meanwhile, which the roll-forward refuses.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.engines.atomic import remove
from datacody_dagster.envs.journal import Journal, Move, write_journal
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.runtime.env_run import output_md5
from datacody_dagster.versioning.apply_journal import ESCAPE, journal_path
from datacody_dagster.versioning.env_locks import env_lock
from datacody_dagster.versioning.env_state import (
    PROD,
    STATE_DIR,
    AssetState,
    EnvState,
    load_state,
    save_state,
)

DISCARDED_DIR = f"{STATE_DIR}/discarded"
STAGED_GLOB = ".*.apply-*"
"""The names `apply` stages its copies under, beside prod's outputs."""


@dataclass(frozen=True)
class AssetOutcome:
    """One asset of the journal: how the apply had left it, and what prod holds now."""

    asset: str
    path: str
    was: str
    """``swapped`` (prod held the plan's bytes), ``not swapped`` (its staged copy is still there,
    the apply was still preparing, or prod's old bytes), ``missing`` (no output at all) or
    ``unknown`` (bytes that are neither, or a folder whose staged copy is gone)."""
    now: str
    """``old`` / ``old (restored from DVC)`` / ``new`` / ``absent`` / ``unknown``, with why."""
    md5: str | None
    """What the output holds now (a folder: None)."""


@dataclass(frozen=True)
class Discarded:
    """What `rollback --discard-journal` did."""

    plan_id: str | None
    env: str | None
    phase: str | None
    assets: tuple[AssetOutcome, ...]
    leftovers: tuple[str, ...]
    """Staged copies removed (relative paths)."""
    notes: tuple[str, ...]
    record: str | None
    """The report, relative to the project root (None when the apply could be finished)."""
    finished: str | None = None
    """``rolled forward`` / ``rolled back`` when the normal recovery finished the apply: nothing
    was discarded then."""


def discard_journal(
    project: CompiledProject, wait_s: float, say: Callable[[str], None] | None = None
) -> Discarded:
    """Discard the apply journal on disk (see the module); raises when there is none."""
    root = project.root
    with env_lock(root, PROD, ESCAPE, wait_s, say):
        path = journal_path(root)
        if not path.exists():
            raise DatacodyError(
                Diagnostic(
                    RUNTIME,
                    "no interrupted apply to discard: prod has no apply journal",
                    hint="nothing to do; `datacody rollback --plan ID` undoes an apply that finished",
                )
            )
        raw = path.read_bytes().decode("utf-8", errors="replace")
        journal = _parse(raw)
        notes: list[str] = []
        if journal is not None and journal.phase != "discarding":
            # The normal recovery first: a journal that can still be finished is not discarded.
            finished = _try_finish(project, notes)
            if finished is not None:
                return Discarded(
                    journal.plan_id, journal.env, journal.phase, (), (), (), None, finished=finished
                )
        outcomes: list[AssetOutcome] = []
        if journal is None:
            notes.append(
                "the journal is unreadable: which assets it had swapped is unknown; prod's state "
                "is checked against the bytes on disk instead"
            )
        else:
            write_journal(root, replace(journal, phase="discarding"))
            state, outcomes = _undo(project, journal, notes)
            save_state(root, state)
        leftovers = _remove_staged(project)
        if journal is None:
            _reconcile(root, notes)
        record = _record(root, raw, journal, outcomes, leftovers, notes)
        return Discarded(
            journal.plan_id if journal else None,
            journal.env if journal else None,
            _phase(raw),
            tuple(outcomes),
            tuple(leftovers),
            tuple(notes),
            record.relative_to(root).as_posix(),
        )


def _try_finish(project: CompiledProject, notes: list[str]) -> str | None:
    """Finish or undo the apply as any prod writer would (we hold prod's lock); None when that
    fails, noting why."""
    from datacody_dagster.envs.apply import recover_holding_lock

    try:
        return recover_holding_lock(project)
    except DatacodyError as exc:
        notes.append("finishing it failed: " + "; ".join(d.message for d in exc.diagnostics))
        return None


def _parse(raw: str) -> Journal | None:
    try:
        return Journal.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _phase(raw: str) -> str | None:
    try:
        phase = json.loads(raw).get("phase")
    except (ValueError, AttributeError):
        return None
    return phase if isinstance(phase, str) else None


def _undo(
    project: CompiledProject, journal: Journal, notes: list[str]
) -> tuple[EnvState, list[AssetOutcome]]:
    """Per move, back to prod's bytes from before the apply where possible; prod's state to match."""
    before = EnvState.from_json(journal.prod_before) if journal.prod_before else EnvState(PROD)
    after = EnvState.from_json(journal.prod_after) if journal.prod_after else EnvState(PROD)
    assets = dict(before.assets)
    outcomes = []
    for move in journal.moves:
        outcome, entry = _undo_move(
            project, journal, move, before.assets.get(move.asset), after.assets.get(move.asset)
        )
        if entry is None:
            assets.pop(move.asset, None)
        else:
            assets[move.asset] = entry
        outcomes.append(outcome)
    if any(o.now.startswith("new") for o in outcomes):
        notes.append(
            "prod mixes bytes from before the apply and from its plan: re-plan before applying again"
        )
    return EnvState(PROD, assets, plan_id=before.plan_id), outcomes


def _undo_move(
    project: CompiledProject, journal: Journal, move: Move, old: AssetState | None, new: AssetState | None
) -> tuple[AssetOutcome, AssetState | None]:
    root = project.root
    dest, staged = root / move.dest, root / move.staged
    staged_there = staged.exists() or staged.is_symlink()
    remove(staged)
    old_md5 = old.data_version if old else None
    new_md5 = new.data_version if new else None
    held = output_md5(dest) if dest.is_file() else None
    if not dest.exists():
        was = "missing"
    elif staged_there or journal.phase == "preparing":  # the rename is what consumes the staged copy
        was = "not swapped"
    elif dest.is_dir():  # no md5 to tell: its staged copy may have been deleted by hand
        was = "unknown"
    elif held is not None and held == old_md5:
        was = "not swapped"
    elif held is not None and held == new_md5:
        was = "swapped"
    else:
        was = "unknown"

    def out(now: str, entry: AssetState | None) -> tuple[AssetOutcome, AssetState | None]:
        md5 = output_md5(dest) if dest.is_file() else None
        return AssetOutcome(move.asset, move.dest, was, now, md5), entry

    if was == "not swapped":
        return out("old", old)
    if old is None and was == "unknown":  # maybe prod's own bytes that its state lost: never deleted
        return out(
            "unknown (kept, prod's state has no entry for it): "
            f"`datacody materialize --select {move.asset} --force` rebuilds it",
            None,
        )
    if old is None:  # the plan added it: prod had no such output
        remove(dest)
        return out("absent (the plan added it)", None)
    why = _restore(project, journal, move, old_md5, dest)
    if why is None:
        return out("old (restored from DVC)", old)
    if was == "swapped":
        _version_kept(project, dest)
        return out(f"new (kept: {why})", new)
    return out(
        f"unknown ({why}): `datacody materialize --select {move.asset} --force` rebuilds it",
        None,
    )


def _restore(
    project: CompiledProject, journal: Journal, move: Move, md5: str | None, dest: Path
) -> str | None:
    """Put DVC version ``md5`` back at ``dest``; None when done, else why it could not."""
    from datacody_dagster.envs.rollback import restore_version

    if md5 is None:
        return "prod's state before the apply had no data version for it"
    if not project.settings.dvc.enabled:
        return "DVC versioning is off, so there is no copy of the old bytes"
    try:
        restore_version(project, move.asset, md5, journal.plan_id, output=dest)
    except DatacodyError as exc:
        return "; ".join(d.message for d in exc.diagnostics)
    except Exception as exc:  # a broken DVC repo or instance: report it, leave the rest to do
        return f"{type(exc).__name__}: {exc}"
    return None


def _version_kept(project: CompiledProject, dest: Path) -> None:
    """The kept bytes get their DVC version (their ``.dvc`` file may still name the old ones);
    best effort: DVC may be what failed the apply's finish."""
    if not project.settings.dvc.enabled:
        return
    from datacody_dagster.versioning import record_output

    with contextlib.suppress(Exception):
        record_output(project.root, dest, project.settings.dvc)


def _remove_staged(project: CompiledProject) -> list[str]:
    """Staged copies of any apply left beside prod's outputs (none is running: we hold the lock)."""
    wh = project.root / project.settings.warehouse_dir
    found = sorted(wh.rglob(STAGED_GLOB)) if wh.is_dir() else []
    for path in found:
        remove(path)
    return [p.relative_to(project.root).as_posix() for p in found]


def _reconcile(root: Path, notes: list[str]) -> None:
    """Without a journal to go by: drop prod's state entries that the bytes on disk contradict,
    so the next plan rebuilds them rather than trusting them."""
    prod = load_state(root, PROD)
    if prod is None:
        return
    assets = dict(prod.assets)
    for name, entry in prod.assets.items():
        output = root / entry.path if entry.path else None
        if output is None or not entry.data_version:
            continue
        if output.is_dir():  # no md5 to check it by: the apply may have swapped it
            assets.pop(name)
            notes.append(
                f"{name}: {entry.path} is a folder that cannot be checked against prod's state; "
                f"its entry is dropped: `datacody materialize --select {name} --force` rebuilds it"
            )
            continue
        held = output_md5(output) if output.is_file() else None
        if held != entry.data_version:
            assets.pop(name)
            notes.append(
                f"{name}: {entry.path} does not hold what prod's state says (md5 {entry.data_version}); "
                f"its entry is dropped: `datacody materialize --select {name} --force` rebuilds it"
            )
    if len(assets) != len(prod.assets):
        save_state(root, replace(prod, assets=assets))


def _record(
    root: Path,
    raw: str,
    journal: Journal | None,
    outcomes: list[AssetOutcome],
    leftovers: list[str],
    notes: list[str],
) -> Path:
    """Write the report, then move the journal beside it (one rename takes it off prod)."""
    folder = root / DISCARDED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    stem = f"{journal.plan_id if journal else 'unreadable'}-{stamp}"
    report: dict[str, Any] = {
        "discarded_at": stamp,
        "plan_id": journal.plan_id if journal else None,
        "env": journal.env if journal else None,
        "phase": _phase(raw),
        "assets": [o.__dict__ for o in outcomes],
        "staged_removed": leftovers,
        "notes": notes,
        "journal": raw,
    }
    path = folder / f"{stem}.json"
    tmp = folder / f".{stem}.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    os.replace(journal_path(root), folder / f"{stem}.journal.json")
    fd = os.open(journal_path(root).parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return path
