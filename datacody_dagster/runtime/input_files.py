"""Files an asset reads from outside the warehouse (raw source files, a Python transform's module).

Their signature is stored on each materialization (``datacody/input_files``) so that the next run
can tell whether they changed: a cheap digest of sizes and times first, and the content digest
only when that one moved (a touched but identical file is still unchanged).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node

METADATA_KEY = "datacody/input_files"
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputSignature:
    files: int
    stat: str  # digest of (path, size, mtime, ctime): moves on any write, touch or copy
    content: str  # digest of (path, md5 of the bytes)

    def as_json(self) -> dict[str, object]:
        return {"files": self.files, "stat": self.stat, "content": self.content}


def input_files(project: CompiledProject, node: Node) -> list[Path]:
    """The files outside the warehouse that ``node`` reads (sorted; empty for none)."""
    if node.is_source and node.source_path:
        if node.source_format == "text":
            from datacody_dagster.engines.text_source import resolve_text_glob

            base, pattern = resolve_text_glob(project.root, node.source_path)
            return sorted(p for p in base.glob(pattern) if p.is_file())
        path = node.source_path
        if _GLOB_CHARS & set(path):
            return sorted(p for p in project.root.glob(path) if p.is_file())
        full = project.root / path
        if full.is_dir():
            return sorted(p for p in full.rglob("*") if p.is_file())
        return [full] if full.exists() else []
    if node.kind == "python" and node.python:
        origin = _module_file(project, node.python.split(":", 1)[0])
        return [origin] if origin is not None else []
    return []


def _module_file(project: CompiledProject, module: str) -> Path | None:
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return None
    return Path(spec.origin)


def _stat_digest(root: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{os.path.relpath(f, root)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n".encode())
    return h.hexdigest()[:32]


def _content_digest(root: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            h.update(f"{os.path.relpath(f, root)}\0{hashlib.file_digest(fh, 'md5').hexdigest()}\n".encode())
    return h.hexdigest()[:32]


def signature(project: CompiledProject, node: Node) -> InputSignature | None:
    """The signature of the node's input files now (None when it reads none)."""
    files = input_files(project, node)
    if not files:
        return None
    return InputSignature(len(files), _stat_digest(project.root, files), _content_digest(project.root, files))


def changed(project: CompiledProject, node: Node, recorded: object) -> bool:
    """Whether the node's input files differ from a recorded signature (a hash only if needed)."""
    files = input_files(project, node)
    if not files:
        return bool(recorded)
    if not isinstance(recorded, dict) or recorded.get("files") != len(files):
        return True
    if recorded.get("stat") == _stat_digest(project.root, files):
        return False
    return bool(recorded.get("content") != _content_digest(project.root, files))
