"""Put an output's bytes into DVC's cache in one read pass, before DVC records it.

DVC alone reads a large output twice: once for its md5, then again for a user-space copy into
the cache (``cache.type=copy``), ~2.4x an md5 pass for 1 GB. Here each file is read once; every
chunk goes to md5 and (from a second thread) to a temp file in the cache, so the cache object
holds exactly the bytes that were hashed. The object is renamed into place read-only (what
DVC's own ``protect`` does) and the hash goes into DVC's state database under the inode, mtime
and size that were read.
DVC's ordinary ``add`` then finds the hash in its state and the object in its cache and writes
only the ``.dvc`` file: its checks and file formats are unchanged.

Why not a hard link from the cache to the output (no copy at all)? The cache object would share
the output's inode, so any in-place write to the output (``cp`` onto it, a tool opening it
``r+b``) rewrites history, and DVC trusts read-only cache objects without re-hashing them.
Read-only permissions do not stop root, which is what these processes often run as. A copy
never shares an inode with the workspace.

Crash safety: the temp file is ``.dvc/cache/files/md5/.<token>.tmp`` (DVC's own naming), which
:func:`~datacody_dagster.versioning.recovery.repair_locked` removes; an object appears only by
``os.replace`` once complete. A file changed in place while it was read (its inode, size,
mtime or ctime moved) is left to DVC's own path; so is any file in a project with
``.dvcignore`` rules, whose folders DVC might not record in full.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from dvc.repo import Repo

CHUNK = 4 << 20
_QUEUED = 4  # chunks in flight to the writer: at most ~16 MB of memory


def _hash_copy(src: BinaryIO, dest: Path) -> tuple[str, int]:
    """Copy ``src`` to a new file ``dest`` and return the md5 and length of what was copied.

    One read of ``src``; each chunk is hashed here while a second thread writes it (both
    release the GIL), so on two cores the cost is about one md5 pass. Both see the same
    immutable ``bytes``, so ``dest`` holds exactly the bytes that were hashed.
    """
    h = hashlib.md5()
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
    failed: list[BaseException] = []

    def write(out: BinaryIO) -> None:
        while (chunk := chunks.get()) is not None:
            if not failed:
                try:
                    out.write(chunk)
                except BaseException as exc:  # reported by the reader, after join
                    failed.append(exc)

    total = 0
    with open(dest, "xb") as out:
        writer = threading.Thread(target=write, args=(out,), name="datacody-cache-write", daemon=True)
        writer.start()
        try:
            while not failed and (chunk := src.read(CHUNK)):
                chunks.put(chunk)
                h.update(chunk)
                total += len(chunk)
        finally:
            chunks.put(None)
            writer.join()
    if failed:
        raise failed[0]
    return h.hexdigest(), total


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _has_ignore_rules(root: Path) -> bool:
    try:
        text = (root / ".dvcignore").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def _ingest_file(repo: Repo, path: Path) -> None:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_objects.fs.utils import tmp_fname

    odb = repo.cache.local
    with open(path, "rb", buffering=0) as src:
        before = os.fstat(src.fileno())
        if not stat.S_ISREG(before.st_mode):
            return
        # What DVC's LocalFileSystem.info returns, for the inode being read (not whatever the
        # path names by now): DVC's state keys hashes by its ino, mtime and size.
        info = {
            "name": str(path),
            "size": before.st_size,
            "type": "file",
            "created": before.st_ctime,
            "islink": False,
            "mode": before.st_mode,
            "uid": before.st_uid,
            "gid": before.st_gid,
            "mtime": before.st_mtime,
            "ino": before.st_ino,
            "nlink": before.st_nlink,
        }
        _, known = repo.state.get(str(path), repo.fs, info=info)
        if known is not None and known.value and odb.is_protected(odb.oid_to_path(known.value)):
            return  # recorded before and still in the cache: DVC needs no read at all
        tmp = Path(odb.path) / tmp_fname()
        odb.makedirs(odb.path)
        try:
            md5, copied = _hash_copy(src, tmp)
            if _identity(os.fstat(src.fileno())) != _identity(before) or copied != before.st_size:
                return  # written in place while read: let DVC hash and copy it itself
            dest = odb.oid_to_path(md5)
            if not odb.is_protected(dest):
                odb.protect(str(tmp))
                odb.makedirs(os.path.dirname(dest))
                os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    repo.state.save(str(path), repo.fs, HashInfo(odb.hash_name, md5), info=info)


def ingest_output(repo: Repo, root: Path, output: Path) -> None:
    """Hash-and-copy every file of ``output`` into the cache; the caller holds the repo lock."""
    if output.is_dir():
        if _has_ignore_rules(root):
            return
        for dirpath, _, filenames in os.walk(output):
            for name in filenames:
                _ingest_file(repo, Path(dirpath) / name)
    elif output.is_file():
        _ingest_file(repo, output)
