"""A separate process that writes and records outputs (for parallel and crash tests).

python -m tests.versioning.worker ROOT NAMES ROUND [--start-at T] [--crash-at POINT --signal FILE]
Prints one JSON line per recorded output. With --crash-at it announces (creates FILE) and then
sleeps at that point, waiting to be SIGKILLed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning import ensure_dvc_repo, record_output, temp_path_for


def _pause(signal_file: str) -> None:
    Path(signal_file).write_text(str(os.getpid()))
    time.sleep(600)


def _install_crash_point(point: str, signal_file: str) -> None:
    if point == "hashing":
        import dvc.output

        build = dvc.output.Output._build

        def paused_build(self: Any, *args: Any, **kwargs: Any) -> Any:
            _pause(signal_file)
            return build(self, *args, **kwargs)

        dvc.output.Output._build = paused_build  # type: ignore[method-assign]
    elif point == "cache_copy":
        # Outputs reach the cache through ingest's one-pass hash-and-copy (DVC then copies nothing).
        import datacody_dagster.versioning.ingest as ingest

        def half_copy(src: Any, dest: Path) -> tuple[str, int]:
            data = src.read()
            with open(dest, "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
            _pause(signal_file)
            raise AssertionError("unreachable")

        ingest._hash_copy = half_copy
    elif point == "dvc_file":
        import dvc.utils.serialize._yaml as y

        dump = y._dump

        def half_dump(data: Any, stream: Any) -> Any:
            import io

            buf = io.StringIO()
            dump(data, buf)
            stream.write(buf.getvalue()[:25])
            stream.flush()
            _pause(signal_file)

        y._dump = half_dump


def _write(output: Path, table: pa.Table, crash_mid_write: str | None) -> None:
    tmp = temp_path_for(output)
    if crash_mid_write:
        with tmp.open("wb") as f:
            f.write(b"PAR1 half a file")
            f.flush()
        _pause(crash_mid_write)
    pq.write_table(table, tmp)
    os.replace(tmp, output)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("names")
    p.add_argument("round", type=int)
    p.add_argument("--start-at", type=float, default=0.0)
    p.add_argument("--crash-at")
    p.add_argument("--signal")
    args = p.parse_args()
    root = Path(args.root)
    settings = DvcSettings(lock_timeout_s=120)
    ensure_dvc_repo(root, settings)
    if args.crash_at and args.crash_at != "write":
        _install_crash_point(args.crash_at, args.signal)
    delay = args.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    for name in args.names.split(","):
        output = root / "data" / "warehouse" / "g" / f"{name}.parquet"
        output.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table({"asset": [name] * 100, "round": [args.round] * 100, "i": list(range(100))})
        _write(output, table, args.signal if args.crash_at == "write" else None)
        v = record_output(root, output, settings)
        print(json.dumps({"name": name, "round": args.round, "md5": v.md5}), flush=True)


if __name__ == "__main__":
    main()
