"""record_output / ensure_dvc_repo against real DVC repositories."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
import zc.lockfile
from configobj import ConfigObj

from datacody_dagster.config import DvcSettings
from datacody_dagster.errors import DatacodyError
from datacody_dagster.versioning import ensure_dvc_repo, record_output
from datacody_dagster.versioning.cache import object_path
from tests.versioning.helpers import assert_dvc_clean, cache_consistent, items, md5_of, write_atomic


def _out(root: Path, name: str = "items") -> Path:
    path = root / "data" / "warehouse" / "shop" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_two_recordings_after_a_change_give_two_versions(project: Path, settings: DvcSettings) -> None:
    out = _out(project)
    write_atomic(items([(1, "a", 1.0)]), out)
    v1 = record_output(project, out, settings)
    write_atomic(items([(1, "a", 2.0)]), out)
    v2 = record_output(project, out, settings)

    assert v1.md5 != v2.md5
    assert v2.md5 == md5_of(out) and v2.size == out.stat().st_size
    assert v2.dvc_file == out.with_name("items.parquet.dvc") and v2.dvc_file.is_file()
    # Both versions stay in the cache, byte for byte.
    assert md5_of(object_path(project, v1.md5)) == v1.md5
    assert md5_of(object_path(project, v2.md5)) == v2.md5
    # Recording unchanged bytes again gives the same version.
    assert record_output(project, out, settings).md5 == v2.md5
    assert_dvc_clean(project)


def test_partitioned_folder_is_one_version(project: Path, settings: DvcSettings) -> None:
    folder = project / "data" / "warehouse" / "shop" / "events"
    for month in (1, 2):
        (folder / f"month={month}").mkdir(parents=True)
        pq.write_table(pa.table({"id": [month]}), folder / f"month={month}" / "part-0.parquet")
    v = record_output(project, folder, settings)
    assert v.md5.endswith(".dir") and v.is_dir and v.nfiles == 2
    assert v.dvc_file == folder.with_name("events.dvc")
    assert_dvc_clean(project)


def test_ensure_configures_dvc_without_git_and_with_an_absolute_remote(project: Path) -> None:
    ensure_dvc_repo(project, DvcSettings(remote="../remote"))
    ensure_dvc_repo(project, DvcSettings(remote="../remote"))  # idempotent
    repo_conf = ConfigObj(str(project / ".dvc" / "config"))
    local = ConfigObj(str(project / ".dvc" / "config.local"))
    assert repo_conf["cache"]["type"] == "copy"
    assert repo_conf["core"]["no_scm"] == "True" and repo_conf["core"]["autostage"] == "False"
    assert "hardlink_lock" not in repo_conf["core"]
    assert local['remote "datacody"']["url"] == str((project.parent / "remote").resolve())
    assert local["core"]["remote"] == "datacody"
    assert "remote" not in repo_conf.get("core", {})
    # Removing the remote from the settings removes it from DVC's config.
    ensure_dvc_repo(project, DvcSettings(remote=None))
    local = ConfigObj(str(project / ".dvc" / "config.local"))
    assert 'remote "datacody"' not in local and "remote" not in local["core"]


def test_remote_from_an_unset_env_var_is_a_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_REMOTE_VAR", raising=False)
    with pytest.raises(DatacodyError, match="NO_SUCH_REMOTE_VAR"):
        ensure_dvc_repo(project, DvcSettings(remote="${NO_SUCH_REMOTE_VAR}"))


def test_recording_waits_for_the_repo_lock(project: Path, settings: DvcSettings) -> None:
    out = _out(project)
    write_atomic(items([(1, "a", 1.0)]), out)
    ensure_dvc_repo(project, settings)
    held = zc.lockfile.LockFile(str(project / ".dvc" / "tmp" / "lock"))
    threading.Timer(0.8, held.close).start()
    started = time.monotonic()
    version = record_output(project, out, settings)
    assert time.monotonic() - started >= 0.7
    assert version.md5 == md5_of(out)


def test_recording_gives_up_after_the_bound_with_a_clear_error(project: Path) -> None:
    out = _out(project)
    write_atomic(items([(1, "a", 1.0)]), out)
    settings = DvcSettings(lock_timeout_s=0.4)
    ensure_dvc_repo(project, settings)
    held = zc.lockfile.LockFile(str(project / ".dvc" / "tmp" / "lock"))
    try:
        with pytest.raises(DatacodyError) as err:
            record_output(project, out, settings)
    finally:
        held.close()
    text = str(err.value)
    assert "gave up waiting 0.4 s for the DVC repository lock" in text and "lock_timeout_s" in text


def test_missing_output_is_a_clear_error(project: Path, settings: DvcSettings) -> None:
    with pytest.raises(DatacodyError, match="does not exist"):
        record_output(project, _out(project, "nothing"), settings)


def test_large_outputs_are_read_once_and_cached_as_independent_copies(
    project: Path, settings: DvcSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dvc_data.hashfile.hash as dvc_hash
    import dvc_objects.fs.local as dvc_local

    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("DVC copied the output: ingest should have cached it")

    hash_file = dvc_hash._hash_file

    def no_workspace_hashing(path: str, *args: Any, **kwargs: Any) -> Any:
        # DVC still hashes the small .dir listing it builds in memory, never a workspace file.
        assert not str(path).startswith(str(project)), f"DVC re-read {path}"
        return hash_file(path, *args, **kwargs)

    # DVC finds the hash in its state and the object in its cache: it neither hashes nor copies.
    monkeypatch.setattr(dvc_hash, "_hash_file", no_workspace_hashing)
    monkeypatch.setattr(dvc_local, "copyfile", forbidden)
    out = _out(project)
    out.write_bytes(os.urandom(9 << 20))  # more than two read chunks
    v = record_output(project, out, settings)
    folder = project / "data" / "warehouse" / "shop" / "events"
    (folder / "month=1").mkdir(parents=True)
    (folder / "month=1" / "part-0.parquet").write_bytes(b"partition bytes")
    vdir = record_output(project, folder, settings)
    monkeypatch.undo()

    obj = object_path(project, v.md5)
    assert md5_of(obj) == v.md5 == md5_of(out) and vdir.nfiles == 1
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444  # protected, as DVC leaves its objects
    # A copy, not a link: writing the output in place cannot change history.
    assert not os.path.samefile(obj, out) and out.stat().st_nlink == 1
    assert out.stat().st_mode & stat.S_IWUSR
    with out.open("r+b") as f:
        f.write(b"overwritten in place")
    assert md5_of(obj) == v.md5
    assert cache_consistent(project) == []
    write_atomic(items([(1, "a", 1.0)]), out)
    record_output(project, out, settings)
    assert_dvc_clean(project)


def test_an_output_written_in_place_while_read_is_left_to_dvc(
    project: Path, settings: DvcSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datacody_dagster.versioning import ingest

    out = _out(project)
    write_atomic(items([(1, "a", 1.0)]), out)
    copy = ingest._hash_copy

    def copy_then_append(src: BinaryIO, dest: Path) -> tuple[str, int]:
        result = copy(src, dest)
        with out.open("ab") as f:
            f.write(b"late bytes")
        return result

    monkeypatch.setattr(ingest, "_hash_copy", copy_then_append)
    v = record_output(project, out, settings)
    assert v.md5 == md5_of(out)  # DVC hashed what the file holds now
    assert md5_of(object_path(project, v.md5)) == v.md5
    assert cache_consistent(project) == []
    assert not list((project / ".dvc" / "cache").rglob(".*.tmp"))


def test_a_batch_records_one_version_per_output_under_one_lock_hold(
    project: Path, settings: DvcSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datacody_dagster.versioning import locking, record_outputs

    outs = [_out(project, f"items{i}") for i in range(3)]
    for i, out in enumerate(outs):
        write_atomic(items([(i, "a", float(i))]), out)
    ensure_dvc_repo(project, settings)
    holds = []
    real = locking.repo_locked

    def counted(*args: Any, **kwargs: Any) -> Any:
        holds.append(args[2:])
        return real(*args, **kwargs)

    monkeypatch.setattr("datacody_dagster.versioning.recording.repo_locked", counted)
    batch = record_outputs(project, outs, settings)
    assert batch.error is None and len(holds) == 1
    assert [v.md5 for v in batch.versions] == [md5_of(o) for o in outs]
    assert [v.dvc_file for v in batch.versions] == [o.with_name(o.name + ".dvc") for o in outs]
    assert_dvc_clean(project)
    # One of them changed: the next batch gives it a new version and the others their old one.
    write_atomic(items([(9, "z", 9.0)]), outs[1])
    again = record_outputs(project, outs, settings)
    assert [v.md5 for v in again.versions] == [batch.versions[0].md5, md5_of(outs[1]), batch.versions[2].md5]
    assert again.versions[1].md5 != batch.versions[1].md5
    assert_dvc_clean(project)


def test_a_batch_that_cannot_get_the_lock_returns_a_clear_error(project: Path) -> None:
    from datacody_dagster.versioning import record_outputs

    outs = [_out(project, f"items{i}") for i in range(2)]
    for out in outs:
        write_atomic(items([(1, "a", 1.0)]), out)
    settings = DvcSettings(lock_timeout_s=0.3)
    ensure_dvc_repo(project, settings)
    held = zc.lockfile.LockFile(str(project / ".dvc" / "tmp" / "lock"))
    try:
        batch = record_outputs(project, outs, settings)
    finally:
        held.close()
    assert batch.versions == [] and batch.error is not None
    assert "gave up waiting 0.3 s" in str(batch.error) and "2 outputs" in str(batch.error)
    assert not outs[0].with_name(outs[0].name + ".dvc").exists()


def test_re_recording_keeps_what_a_person_added_to_the_dvc_file(project: Path, settings: DvcSettings) -> None:
    plain, annotated = _out(project, "plain"), _out(project, "annotated")
    for out in (plain, annotated):
        write_atomic(items([(1, "a", 1.0)]), out)
        record_output(project, out, settings)
    note = annotated.with_name(annotated.name + ".dvc")
    note.write_text("# reviewed by finance\ndesc: monthly close\n" + note.read_text(), encoding="utf-8")
    fresh = plain.with_name(plain.name + ".dvc").read_text(encoding="utf-8")
    for out in (plain, annotated):
        write_atomic(items([(2, "b", 2.0)]), out)
        version = record_output(project, out, settings)
        assert version.md5 == md5_of(out)
    text = note.read_text(encoding="utf-8")
    assert "# reviewed by finance" in text and "desc: monthly close" in text and md5_of(annotated) in text
    rewritten = plain.with_name(plain.name + ".dvc").read_text(encoding="utf-8")
    before, after = yaml.safe_load(fresh)["outs"][0], yaml.safe_load(rewritten)["outs"][0]
    assert list(after) == list(before) and after["md5"] == md5_of(plain) != before["md5"]
    assert_dvc_clean(project)
