"""One writer per environment: a build, an apply or a delete holds the env's lock throughout.

A second `plan --env X` would delete the outputs and DuckDB file under a running build, and a
plan during `apply X` could delete the files apply is staging (its recovery takes a missing
staged file for one already renamed). `apply` and `rollback` hold prod's lock too, which prod's
`materialize` holds shared: neither writes prod while the other does. The lock itself lives in
``versioning/env_locks.py`` (below the runtime, which takes prod's).
"""

from __future__ import annotations

from datacody_dagster.versioning.env_locks import LOCKS_DIR, EnvBusy, env_lock, lock_path

__all__ = ["LOCKS_DIR", "EnvBusy", "env_lock", "lock_path"]
