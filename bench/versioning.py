"""Cost of recording outputs with DVC (in-process) against the floor, a plain md5 pass.

    .venv/bin/python bench/versioning.py [--sizes-mb 100 1024] [--runs 3] [--tiny-runs 30]

Every run records new bytes (a fresh file renamed over the output, as the runtime writes), so
neither DVC's hash state nor the cache can skip work. Files live in a temp folder that is
deleted at the end. Targets (issue 4): large files within 1.5x of the md5 floor; fixed cost per
recording under 150 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from datacody_dagster.config import DvcSettings
from datacody_dagster.versioning import ensure_dvc_repo, record_output

CHUNK = 1 << 20


def write_variant(path: Path, size: int, variant: int, block: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-bench.tmp")
    with tmp.open("wb") as f:
        f.write(variant.to_bytes(8, "little"))
        written = 8
        while written < size:
            n = min(len(block), size - written)
            f.write(block[:n])
            written += n
    os.replace(tmp, path)


def md5_pass(path: Path) -> float:
    started = time.perf_counter()
    h = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return time.perf_counter() - started


def record(root: Path, path: Path, settings: DvcSettings) -> float:
    started = time.perf_counter()
    record_output(root, path, settings)
    return time.perf_counter() - started


def bench_size(root: Path, size: int, runs: int, settings: DvcSettings) -> tuple[float, float]:
    out = root / "data" / "warehouse" / "bench" / f"out_{size}.parquet"
    block = os.urandom(CHUNK)
    floors, records = [], []
    for variant in range(runs):
        write_variant(out, size, variant, block)
        floors.append(md5_pass(out))
        records.append(record(root, out, settings))
    out.unlink()
    return statistics.median(floors), statistics.median(records)


def bench_tiny(root: Path, runs: int, settings: DvcSettings, name: str) -> float:
    out = root / "data" / "warehouse" / "bench" / f"{name}.parquet"
    times = []
    for variant in range(runs):
        write_variant(out, 1024, variant, b"x" * 1024)
        times.append(record(root, out, settings))
    return statistics.median(times[1:] if runs > 1 else times)  # the first pays DVC's imports


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 1024])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tiny-runs", type=int, default=30)
    p.add_argument("--tracked", type=int, default=100, help="outputs already tracked, for the scaling row")
    args = p.parse_args()
    settings = DvcSettings(lock_timeout_s=600)
    console = Console()
    table = Table(title="DVC recording vs md5 floor (medians)")
    for col in ("case", "md5 floor", "record_output", "ratio", "target", "ok"):
        table.add_column(col, justify="left" if col in {"case", "target"} else "right")
    with tempfile.TemporaryDirectory(prefix="datacody-bench-") as tmp:
        root = Path(tmp)
        (root / "data" / "warehouse" / "bench").mkdir(parents=True)
        started = time.perf_counter()
        ensure_dvc_repo(root, settings)
        console.print(f"ensure_dvc_repo (first call, incl. imports): {time.perf_counter() - started:.2f} s")
        tiny = bench_tiny(root, args.tiny_runs, settings, "tiny")
        table.add_row(
            "fixed cost, 1 KB output", "-", f"{tiny * 1000:.0f} ms", "-", "< 150 ms", _ok(tiny < 0.150)
        )
        for size_mb in args.sizes_mb:
            floor, rec = bench_size(root, size_mb * CHUNK, args.runs, settings)
            ratio = rec / floor
            label = f"{size_mb} MB output" if size_mb < 1024 else f"{size_mb / 1024:g} GB output"
            table.add_row(
                label, f"{floor:.2f} s", f"{rec:.2f} s", f"{ratio:.2f}x", "<= 1.5x", _ok(ratio <= 1.5)
            )
        for i in range(args.tracked):
            write_variant(root / "data" / "warehouse" / "bench" / f"t{i}.parquet", 1024, i, b"y" * 1024)
            record_output(root, root / "data" / "warehouse" / "bench" / f"t{i}.parquet", settings)
        tiny_many = bench_tiny(root, max(6, args.tiny_runs // 3), settings, "tiny2")
        table.add_row(
            f"fixed cost, {args.tracked} outputs tracked",
            "-",
            f"{tiny_many * 1000:.0f} ms",
            "-",
            "< 150 ms",
            _ok(tiny_many < 0.150),
        )
        shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)
    console.print(table)


def _ok(flag: bool) -> str:
    return "[green]yes[/green]" if flag else "[red]no[/red]"


if __name__ == "__main__":
    main()
