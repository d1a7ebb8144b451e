"""dbt's JSON schemas of its config classes, kept on disk between dbt worker processes.

dbt validates ``dbt_project.yml``, ``profiles.yml`` and its flags against JSON schemas that
mashumaro derives from dbt's dataclasses, anew in every process: 0.3 of the 0.6 CPU-s a dbt
worker's parse costs on the jaffle project (measured with the process CPU clock, see
``bench/e2e.py``), on the run's critical path. The schemas depend only on the installed code,
so the worker keeps them in a file keyed by the versions of dbt's packages, mashumaro and
Python, in the dbt project's target folder; validation itself still runs on every file. Not
for an editable install (its code changes under one version number); a file whose schemas
refer outside themselves (``$ref`` to a URL) is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

# Every package whose code shapes a config class's schema.
_PACKAGES = ("dbt-core", "dbt-common", "dbt-adapters", "dbt-duckdb", "mashumaro")


def _editable(dist: metadata.Distribution) -> bool:
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return True
    return bool(direct.get("dir_info", {}).get("editable"))


def cache_file(dbt_dir: Path) -> Path | None:
    """The schema file for the installed versions (another version set: another file); None for
    an editable install of any of them (its code changes under one version number)."""
    versions = []
    for name in _PACKAGES:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=-")
            continue
        if _editable(dist):
            return None
        versions.append(f"{name}={dist.version}")
    versions.append(f"python={sys.version_info[0]}.{sys.version_info[1]}")
    digest = hashlib.sha256(";".join(versions).encode()).hexdigest()[:16]
    target = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return (dbt_dir / target) / f"datacody-dbt-json-schemas-{digest}.json"


def _local_refs_only(value: Any) -> bool:
    """No ``$ref`` outside the document: a planted schema must not make validation fetch URLs."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
            return False
        return all(_local_refs_only(v) for v in value.values())
    if isinstance(value, list):
        return all(_local_refs_only(v) for v in value)
    return True


class SchemaCache:
    """Serves ``dbtClassMixin.json_schema`` from a file; :meth:`save` writes what was added."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.schemas: dict[str, Any] = {}
        self.added = False
        if path is None:
            return
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and _local_refs_only(loaded):
                self.schemas = loaded

    def install(self) -> None:
        """Route dbt's schema lookups through this cache (for this process, from now on)."""
        from dbt_common.dataclass_schema import dbtClassMixin

        build = dbtClassMixin.json_schema.__func__  # type: ignore[attr-defined]
        cache = self

        def json_schema(cls: type) -> Any:
            name = f"{cls.__module__}.{cls.__qualname__}"
            schema = cache.schemas.get(name)
            if schema is None:
                schema = cache.schemas[name] = build(cls)
                cache.added = True
            return schema

        dbtClassMixin.json_schema = classmethod(json_schema)  # type: ignore[assignment,method-assign]

    def save(self) -> None:
        """Write the file if a schema was built (atomically: a reader sees the old or the new)."""
        if not self.added or self.path is None:
            return
        self.added = False
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(self.schemas), encoding="utf-8")
            os.replace(temp, self.path)
        except OSError:  # a read-only target: the next worker builds them again
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
