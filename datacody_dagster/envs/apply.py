"""Promote an environment to prod by linking its files into place (no recompute).

Each asset is replaced with one rename; the set is all-or-nothing through the journal
(:mod:`journal`): a crash before the commit point leaves prod as before, a crash after it is
rolled forward by the next command. Each promoted asset gets a DVC version and a Dagster
materialization event carrying the plan id; the prod versions it replaced are kept in
``data/.datacody/envs/applied/<plan_id>.json`` for `datacody rollback --plan`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from datacody_dagster.checks.history import file_md5
from datacody_dagster.compiler import CompiledProject
from datacody_dagster.envs.journal import (
    Journal,
    Move,
    checkpoint,
    clear_journal,
    discard,
    read_journal,
    write_journal,
)
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic
from datacody_dagster.versioning.apply_journal import unfinishable
from datacody_dagster.versioning.env_state import (
    PROD,
    STATE_DIR,
    EnvState,
    load_state,
    save_state,
    state_path,
)

PLAN_ID = "datacody/plan_id"


@dataclass(frozen=True)
class Promoted:
    asset: str
    path: str
    md5: str | None


def _refuse(message: str, hint: str) -> DatacodyError:
    return DatacodyError(Diagnostic(RUNTIME, message, hint=hint))


def _link_or_copy(src: Path, dest: Path) -> None:
    """Hard link (same bytes, no copy) where the filesystem allows, else copy."""
    if src.is_dir():
        shutil.copytree(src, dest, copy_function=_link_file)
    else:
        _link_file(str(src), str(dest))


def _link_file(src: str, dest: str) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _place(root: Path, move: Move, expected: str | None) -> None:
    staged, dest = root / move.staged, root / move.dest
    if not staged.exists():  # already renamed (a recovery that runs again), or lost
        _check_placed(dest, move, expected)
        return
    from datacody_dagster.engines.atomic import place

    dest.parent.mkdir(parents=True, exist_ok=True)
    place(staged, dest)


def _check_placed(dest: Path, move: Move, expected: str | None) -> None:
    """A staged copy that is gone must have been renamed into place: else (deleted by hand,
    say) finishing would record prod's old bytes as the plan's."""
    if not dest.exists():
        raise _refuse(f"{move.asset}: its staged copy {move.staged} and {move.dest} are both gone", "")
    if expected and dest.is_file() and file_md5(dest) != expected:
        raise _refuse(
            f"{move.asset}: its staged copy {move.staged} is gone and {move.dest} does not hold "
            f"the plan's bytes (md5 {expected})",
            "",
        )


def applied_path(root: Path, plan_id: str) -> Path:
    return root / STATE_DIR / "applied" / f"{plan_id}.json"


def _check(project: CompiledProject, env: EnvState, prod: EnvState | None) -> None:
    name = env.name
    if env.plan_id is None:
        raise _refuse(f"env `{name}` holds no plan", f"run `datacody plan --env {name}` first")
    if env.blocking_failures:
        raise _refuse(
            f"env `{name}` failed its blocking checks: {'; '.join(env.blocking_failures)}",
            f"fix the specs, then `datacody plan --env {name}` again",
        )
    now = (prod or EnvState(PROD)).digest()
    if prod is not None and prod.plan_id == env.plan_id:
        raise _refuse(
            f"plan {env.plan_id} of env `{name}` is already applied",
            f"change the specs and `datacody plan --env {name}` again",
        )
    if env.base_digest != now:
        raise _refuse(
            f"prod moved since plan {env.plan_id} of env `{name}` was made",
            f"re-plan: `datacody plan --env {name}`, then apply again",
        )
    for asset in env.promote:
        entry = env.assets.get(asset)
        if entry is None or entry.path is None or not (project.root / entry.path).exists():
            raise _refuse(
                f"env `{name}` lacks the output of {asset}",
                f"re-plan: `datacody plan --env {name}`",
            )
        if entry.data_version and file_md5(project.root / entry.path) != entry.data_version:
            raise _refuse(
                f"{entry.path} changed since plan {env.plan_id} built and audited it",
                f"re-plan: `datacody plan --env {name}`",
            )


def _check_recorded(project: CompiledProject, env: EnvState) -> None:
    """Refuse a build an older datacody recorded on prod's keys: its records are gone (removed
    by ``legacy_env_runs``) and prod would get no input versions for it; a re-plan records it
    on ``env/NAME/<asset>``."""
    import dagster as dg

    from datacody_dagster.instance import project_instance
    from datacody_dagster.run_markers import env_key_path

    files = [a for a in env.promote if not _is_view(project, a)]
    if not files:
        return
    instance = project_instance(project.root)
    missing = [
        a
        for a in files
        if instance.get_latest_materialization_event(dg.AssetKey(env_key_path(env.name, a))) is None
    ]
    if missing:
        where = state_path(project.root, env.name).relative_to(project.root).as_posix()
        raise _refuse(
            f"{where}: plan {env.plan_id} of env `{env.name}` built {', '.join(missing)} with no record on "
            f"the env's own asset keys (env/{env.name}/...): it was built by an older datacody, which "
            "recorded env builds on prod's keys",
            f"re-plan: `datacody plan --env {env.name}`, then apply again",
        )


def _is_view(project: CompiledProject, asset: str) -> bool:
    node = project.plan.node(asset)
    return node.is_dbt_view


def apply_env(
    project: CompiledProject,
    env_name: str,
    wait_s: float = 0.0,
    say: Callable[[str], None] | None = None,
) -> list[Promoted]:
    """Make prod hold exactly what ``env_name`` holds for its plan's assets.

    Holds the env's lock (no build or delete of it meanwhile) and prod's (one apply at a time:
    they share the journal; prod's `materialize` holds it shared, so apply waits up to ``wait_s``
    for prod's runs to end). An apply a crash interrupted is finished first, never overwritten."""
    from datacody_dagster.envs.lock import env_lock

    doing = f"datacody apply --env {env_name}"
    with env_lock(project.root, env_name, doing), env_lock(project.root, PROD, doing, wait_s, say):
        recover_holding_lock(project)
        return _apply(project, env_name)


def recover_holding_lock(project: CompiledProject) -> str | None:
    """Finish (``"rolled forward"``) or undo (``"rolled back"``) the journal's apply, None without
    one. The caller holds prod's lock exclusively, so a journal is a crashed apply's, never a
    running one's (``envs/recovery.py`` takes the lock for commands that do not hold it)."""
    journal = read_journal(project.root)
    if journal is None:
        return None
    if journal.phase == "discarding":
        raise unfinishable(project.root, "`rollback --discard-journal` was interrupted while undoing it")
    try:
        if journal.phase == "preparing":
            discard(project.root, journal)
            return "rolled back"
        finish(project, journal)
    except DatacodyError as exc:
        raise unfinishable(project.root, "; ".join(d.message for d in exc.diagnostics)) from exc
    except Exception as exc:  # any failure leaves the journal on disk: point to the escape
        raise unfinishable(project.root, f"{type(exc).__name__}: {exc}") from exc
    return "rolled forward"


def _apply(project: CompiledProject, env_name: str) -> list[Promoted]:
    root = project.root
    env = load_state(root, env_name)
    if env is None:
        raise _refuse(f"no environment `{env_name}`", f"build one: `datacody plan --env {env_name}`")
    prod = load_state(root, PROD)
    _check(project, env, prod)
    assert env.plan_id is not None
    _check_recorded(project, env)
    wh = project.settings.warehouse_dir
    moves: list[Move] = []
    after = dict(prod.assets) if prod else {}
    for name, entry in env.assets.items():
        if name not in env.promote:
            after[name] = entry  # reused: same data, planned metadata
    for asset in env.promote:
        entry = env.assets[asset]
        node = project.plan.node(asset)
        if node.is_dbt_view:
            # Prod keeps views in its DuckDB file, not as files: `datacody materialize` re-creates
            # them; until then prod's state keeps the old entry, so the next plan still lists it.
            old = prod.assets.get(asset) if prod else None
            if old is None:
                after.pop(asset, None)
            else:
                after[asset] = old
            continue
        dest = node.output_relpath(wh)
        staged_rel = f"{Path(dest).parent.as_posix()}/.{Path(dest).name}.apply-{env.plan_id}"
        moves.append(Move(asset, staged_rel, dest))
        after[asset] = replace(entry, path=dest)
    for asset in env.drop:
        after.pop(asset, None)
    prod_after = EnvState(PROD, after, plan_id=env.plan_id)
    journal = Journal(
        env.plan_id,
        env_name,
        "preparing",
        tuple(moves),
        prod_after=prod_after.to_json(),
        prod_before=(prod or EnvState(PROD)).to_json(),
    )
    write_journal(root, journal)
    checkpoint("preparing")
    for i, move in enumerate(moves):
        target = root / move.staged
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(root / str(env.assets[move.asset].path), target)
        checkpoint(f"staged-{i}")
    write_journal(root, replace(journal, phase="committing"))  # the commit point
    checkpoint("committing")
    return finish(project, replace(journal, phase="committing"))


def finish(project: CompiledProject, journal: Journal) -> list[Promoted]:
    """Roll a committed journal forward: renames, prod state, DVC versions, events (idempotent)."""
    root = project.root
    prod_after = EnvState.from_json(journal.prod_after)
    for i, move in enumerate(journal.moves):
        entry = prod_after.assets.get(move.asset)
        _place(root, move, entry.data_version if entry else None)
        checkpoint(f"renamed-{i}")
    prod_before = EnvState.from_json(journal.prod_before)
    promoted = _record(project, journal, prod_after)
    save_state(root, prod_after)
    checkpoint("state-saved")
    _write_applied(root, journal, prod_before, promoted)
    clear_journal(root)
    return promoted


def _record(project: CompiledProject, journal: Journal, prod_after: EnvState) -> list[Promoted]:
    """DVC version and a Dagster materialization (with the plan id) per promoted asset."""
    out: list[Promoted] = []
    settings = project.settings.dvc
    for move in journal.moves:
        md5 = prod_after.assets[move.asset].data_version
        if settings.enabled:
            from datacody_dagster.versioning import record_output

            version = record_output(project.root, project.root / move.dest, settings)
            md5 = version.md5
            prod_after.assets[move.asset] = replace(prod_after.assets[move.asset], data_version=md5)
        out.append(Promoted(move.asset, move.dest, md5))
    _report_events(project, journal, out)
    return out


def _report_events(project: CompiledProject, journal: Journal, promoted: list[Promoted]) -> None:
    import dagster as dg
    from dagster._core.definitions.data_version import CODE_VERSION_TAG, DATA_VERSION_TAG

    from datacody_dagster.emit.dagster import asset_key
    from datacody_dagster.instance import project_instance
    from datacody_dagster.versioning.history import CODE_VERSION, DVC_MD5, URI

    instance = project_instance(project.root)
    for p in promoted:
        node = project.plan.node(p.asset)
        metadata: dict[str, Any] = {
            PLAN_ID: dg.MetadataValue.text(journal.plan_id),
            "datacody/env": dg.MetadataValue.text(journal.env),
            CODE_VERSION: dg.MetadataValue.text(node.fingerprint),
            URI: dg.MetadataValue.text((project.root / p.path).resolve().as_uri()),
        }
        tags = {CODE_VERSION_TAG: node.fingerprint}
        rows = _row_count(project.root / p.path)
        if rows is not None:
            metadata["dagster/row_count"] = dg.MetadataValue.int(rows)
        if p.md5:
            metadata[DVC_MD5] = dg.MetadataValue.text(p.md5)
            tags[DATA_VERSION_TAG] = p.md5
            tags.update(_built_from(instance, p.asset, journal.env, p.md5))
        path = project.root / p.path
        if path.is_file():  # with the inputs, prod's next `materialize` finds it up to date
            metadata["datacody/size_bytes"] = dg.MetadataValue.int(path.stat().st_size)
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=asset_key(p.asset),
                description=f"promoted from env {journal.env} by plan {journal.plan_id}",
                metadata=metadata,
                tags=tags,
            )
        )


def _built_from(instance: Any, asset: str, env: str, md5: str) -> dict[str, str]:
    """The input data versions of the env run that built these bytes (``dagster/input_data_version/*``
    tags), so the promoted asset is judged against the inputs it was really built from."""
    import dagster as dg

    from datacody_dagster.run_markers import env_key_path

    # The env's build is on the env's own key; the latest one is the build the plan made.
    latest = instance.get_latest_materialization_event(dg.AssetKey(env_key_path(env, asset)))
    mat = latest.asset_materialization if latest is not None else None
    if mat is None or (mat.tags or {}).get("dagster/data_version") != md5:
        return {}
    prefix, env_part = "dagster/input_data_version/", "/".join(env_key_path(env, ""))
    # An input the env rebuilt is named by its env key; promoted, it is prod's asset of that name.
    return {
        prefix + k.removeprefix(prefix).removeprefix(env_part): v
        for k, v in (mat.tags or {}).items()
        if k.startswith(prefix)
    }


def _row_count(path: Path) -> int | None:
    import duckdb

    from datacody_dagster.versioning.diff import path_relation

    con = duckdb.connect()
    try:
        return int(con.execute(f"select count(*) from {path_relation(path)}").fetchall()[0][0])
    except duckdb.Error:
        return None
    finally:
        con.close()


def _write_applied(root: Path, journal: Journal, before: EnvState, promoted: list[Promoted]) -> None:
    path = applied_path(root, journal.plan_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "plan_id": journal.plan_id,
        "env": journal.env,
        "assets": {
            p.asset: {
                "before": before.assets[p.asset].data_version if p.asset in before.assets else None,
                "after": p.md5,
                "path": p.path,
            }
            for p in promoted
        },
        "prod_before": before.to_json(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)
