"""Text and code sources (`format: text`): files matched by a glob become rows.

Each row is ``(path, content, size, language)``; the language comes from the file extension.
A path may start with ``stdlib://`` to address the running interpreter's standard library
(e.g. ``stdlib://json/*.py``), so examples can build corpora from files present on every
machine without copying them into the project.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pyarrow as pa

STDLIB_SCHEME = "stdlib://"

LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".sh": "shell",
    ".bat": "batch",
    ".sql": "sql",
    ".md": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".html": "html",
    ".css": "css",
}

SCHEMA = pa.schema(
    [("path", pa.string()), ("content", pa.string()), ("size", pa.int64()), ("language", pa.string())]
)


def language_of(path: str) -> str:
    """The language name for a file extension (``unknown`` when not recognised)."""
    return LANGUAGES.get(Path(path).suffix.lower(), "unknown")


def resolve_text_glob(root: Path, glob: str) -> tuple[Path, str]:
    """Split a source path into (base directory, glob pattern relative to it)."""
    if glob.startswith(STDLIB_SCHEME):
        return Path(sysconfig.get_paths()["stdlib"]), glob[len(STDLIB_SCHEME) :]
    return root, glob


def load_text_source(root: Path, glob: str, *, max_bytes: int = 2_000_000) -> pa.Table:
    """Read every file matched by ``glob`` (relative to ``root``, or ``stdlib://...``).

    Paths in the ``path`` column are relative to the glob's base (stable across machines);
    rows are sorted by path. Files that are not UTF-8 are decoded with replacement characters;
    files larger than ``max_bytes`` are skipped (generated or vendored blobs, not training text).
    """
    base, pattern = resolve_text_glob(Path(root), glob)
    inside = base.resolve()
    # A `..` or a symbolic link must not carry the glob out of its base folder.
    files = sorted(p for p in base.glob(pattern) if p.is_file() and p.resolve().is_relative_to(inside))
    rows: dict[str, list[object]] = {"path": [], "content": [], "size": [], "language": []}
    for file in files:
        size = file.stat().st_size
        if size > max_bytes:
            continue
        rel = file.relative_to(base).as_posix()
        rows["path"].append(rel)
        rows["content"].append(file.read_bytes().decode("utf-8", errors="replace"))
        rows["size"].append(size)
        rows["language"].append(language_of(rel))
    return pa.table(rows, schema=SCHEMA)
