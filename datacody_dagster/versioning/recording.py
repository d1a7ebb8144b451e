"""Record one output (a Parquet file or a folder of them) as a DVC version, in-process."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datacody_dagster.config import DvcSettings
from datacody_dagster.errors import RUNTIME, DatacodyError, Diagnostic, relative_display_path
from datacody_dagster.versioning.dvcrepo import ensure_dvc_repo, is_dvc_repo
from datacody_dagster.versioning.locking import lock_timeout_error, repo_locked, retry_until
from datacody_dagster.versioning.model import RecordedVersion
from datacody_dagster.versioning.open_repos import REPOS_GUARD, repo_for
from datacody_dagster.versioning.recovery import repair_locked

if TYPE_CHECKING:
    from dvc.repo import Repo
    from dvc.stage import Stage


def _error(message: str, hint: str | None = None) -> DatacodyError:
    return DatacodyError(Diagnostic(RUNTIME, message, hint=hint))


_OUR_OUT_FIELDS = frozenset({"md5", "size", "hash", "path", "nfiles"})


def _only_our_fields(dvcfile: Path) -> bool:
    """Whether a ``.dvc`` file holds exactly what a recording writes (one output, no comments).

    Such a file is rewritten from a new stage: loading it and re-reading it to keep comments
    takes DVC two passes of ruamel's pure-Python round-trip parser (~22 ms of a ~38 ms
    re-recording). Anything else (a comment, ``desc``, ``meta``, a second output) goes through
    DVC's loader, which keeps it.
    """
    import yaml

    try:
        text = dvcfile.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, ValueError, yaml.YAMLError):
        return False  # unreadable: DVC's loader reports it (and recovery repairs it)
    if "#" in text or not isinstance(data, dict) or set(data) != {"outs"}:
        return False
    outs = data["outs"]
    return (
        isinstance(outs, list)
        and len(outs) == 1
        and isinstance(outs[0], dict)
        and set(outs[0]) <= _OUR_OUT_FIELDS
    )


def _add_one(repo: Repo, output: Path) -> Stage:
    """What ``Repo.add`` does for one target, minus loading every ``.dvc`` file of the repo.

    ``Repo.add`` builds the whole repo index to look for overlapping outputs (~4 ms per tracked
    output, per recording); outputs here are distinct files or folders by construction, so only
    this output's own ``.dvc`` file is read. The bytes go into the cache first, in one read pass
    (:mod:`~datacody_dagster.versioning.ingest`), so DVC finds the hash in its state and the
    object in its cache and neither re-reads nor copies the output. The caller holds the repo lock.
    """
    from dvc.dvcfile import load_file
    from dvc.stage import Stage, create_stage
    from dvc.utils import resolve_paths

    from datacody_dagster.versioning.ingest import ingest_output

    ingest_output(repo, Path(repo.root_dir), output)
    dvcfile, wdir, out = resolve_paths(repo, str(output))
    if not os.path.exists(dvcfile):
        stage = repo.stage.create(single_stage=True, validate=False, fname=dvcfile, wdir=wdir, outs=[out])
    elif _only_our_fields(Path(dvcfile)):
        # What `repo.stage.create` builds, minus `restore_fields` (it re-reads the file to keep
        # comments and annotations, which this file has none of).
        stage = create_stage(Stage, repo, dvcfile, wdir=wdir, outs=[out])
    else:
        stage = load_file(repo, dvcfile).stage  # keeps a user's comments and extra fields
    # relink=False: with cache.type=copy a relink copies the cache back over the output, a
    # second full write for nothing.
    stage.add_outs(relink=False)
    stage.dump()
    return stage


@dataclass(frozen=True)
class RecordedBatch:
    """The outputs of one batch that were recorded, in order, and the error that stopped it."""

    versions: list[RecordedVersion]
    error: DatacodyError | None = None


def _version(stage: Stage, output: Path) -> RecordedVersion:
    out = stage.outs[0]
    assert out.hash_info is not None and out.hash_info.value
    return RecordedVersion(
        md5=str(out.hash_info.value),
        size=int(out.meta.size or 0),
        path=output,
        dvc_file=Path(stage.path),
        nfiles=int(out.meta.nfiles or 1),
    )


def _add(root: Path, outputs: list[Path], settings: DvcSettings, what: str) -> RecordedBatch:
    """Record ``outputs`` in order under one hold of DVC's repository lock.

    One hold, not one per output: taking the lock resets the open Repo, which then re-reads
    DVC's config and ``.dvcignore`` (~15 ms a time). An output's read/write lock held by a
    live ``dvc`` command releases the repo lock, waits and resumes where it stopped.
    """
    from dvc.exceptions import DvcException
    from dvc.lock import LockError

    deadline = time.monotonic() + settings.lock_timeout_s
    repaired = False
    attempt = 0
    done: list[RecordedVersion] = []
    while len(done) < len(outputs):
        blocked = False
        try:
            with (
                REPOS_GUARD,
                repo_locked(repo := repo_for(root), root, settings.lock_timeout_s, what, deadline=deadline),
            ):
                while len(done) < len(outputs):
                    output = outputs[len(done)]
                    shown = relative_display_path(output, root)
                    try:
                        done.append(_version(_add_one(repo, output), output))
                    except LockError:
                        # An output's read/write lock (rwlock) held by a live `dvc` command.
                        blocked = True
                        break
                    except DvcException as exc:
                        # A .dvc file truncated by a killed process breaks every add: repair once.
                        if repaired:
                            return RecordedBatch(done, _error(f"DVC could not record {shown}: {exc}"))
                        repaired = True
                        if not repair_locked(root):
                            return RecordedBatch(
                                done,
                                _error(
                                    f"DVC could not record {shown}: {exc}",
                                    "run `dvc status` in the project folder to see what DVC objects to",
                                ),
                            )
                        break  # re-take the lock: the open Repo starts afresh on the repaired files
        except DatacodyError as exc:  # the repo lock not had within the bound
            return RecordedBatch(done, exc)
        if blocked:
            if not retry_until(deadline, attempt):
                return RecordedBatch(done, lock_timeout_error(root, settings.lock_timeout_s, what))
            attempt += 1
    return RecordedBatch(done)


def _checked(root: Path, output: Path) -> Path:
    root = Path(os.path.abspath(root))
    output = Path(os.path.abspath(output if Path(output).is_absolute() else root / output))
    shown = relative_display_path(output, root)
    if not output.exists():
        raise _error(f"cannot record {shown}: the output does not exist", "materialize the asset first")
    if not output.is_relative_to(root):
        raise _error(f"cannot record {output}: it is outside the project {root}")
    return output


def record_output(root: Path, output: Path, settings: DvcSettings) -> RecordedVersion:
    """Record ``output`` (already written atomically) with DVC and return its version.

    The md5 is DVC's content hash (``<md5>.dir`` for a folder): use it as the Dagster data
    version. Waits up to ``settings.lock_timeout_s`` for DVC's repository lock, then raises
    :class:`DatacodyError`. Old versions are never removed from the cache. Callers decide
    whether to record at all (``settings.enabled``).
    """
    root = Path(os.path.abspath(root))
    output = _checked(root, output)
    batch = record_outputs(root, [output], settings)
    if batch.error is not None:
        raise batch.error
    return batch.versions[0]


def record_outputs(root: Path, outputs: list[Path], settings: DvcSettings) -> RecordedBatch:
    """Record several outputs (one DVC version each, in order) under one hold of the repo lock.

    What a step that wrote many outputs (the dbt step) calls once. Raises :class:`DatacodyError`
    for an output that is missing or outside the project before anything is recorded; an error
    while recording is returned with the versions recorded before it, so that the caller can
    still report those.
    """
    root = Path(os.path.abspath(root))
    checked = [_checked(root, o) for o in outputs]
    if not checked:
        return RecordedBatch([])
    if not is_dvc_repo(root):
        ensure_dvc_repo(root, settings)
    shown = relative_display_path(checked[0], root)
    what = f"recording {shown}" if len(checked) == 1 else f"recording {len(checked)} outputs ({shown}, ...)"
    return _add(root, checked, settings, what)
