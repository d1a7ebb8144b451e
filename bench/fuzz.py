"""Fuzz the spec compiler by hand: N mutated spec files through validate and compile.

Usage: python bench/fuzz.py [--cases 20000] [--seed 17] [--save DIR]
Prints a table of outcomes; exits 1 on any crash, hang (> 5 s), unlocated error or foreign
Jinja in emitted files. ``--save`` writes one reproducer per failure signature.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.fuzzer import HANG_S, fuzz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--save", type=Path, default=None)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="datacody-fuzz-") as tmp:
        report = fuzz(args.cases, args.seed, Path(tmp))
    elapsed = time.monotonic() - started
    rows = [
        ("cases", f"{report.cases:,}"),
        ("compiled (valid)", f"{report.compiled:,}"),
        ("refused with diagnostics", f"{report.refused:,}"),
        ("uncaught exceptions", f"{sum(report.crashes.values()):,}"),
        (f"hangs (> {HANG_S:.0f} s)", f"{report.hangs:,}"),
        ("errors without file:line:col in the right file", f"{report.bad_locations:,}"),
        ("foreign Jinja / paths outside in emitted files", f"{report.leaks:,}"),
        ("slowest case", f"{report.slowest_s:.2f} s"),
        ("wall time", f"{elapsed:.0f} s ({elapsed / max(report.cases, 1) * 1000:.1f} ms/case)"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'outcome':<{width}}  value")
    print(f"{'-' * width}  -----")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for signature, count in report.crashes.most_common():
        print(f"crash: {signature} x{count}")
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for i, (signature, data) in enumerate(report.examples.items()):
            (args.save / f"case{i}.yaml").write_bytes(data)
            print(f"saved {args.save / f'case{i}.yaml'}: {signature}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
