"""Fuzz the spec compiler by hand: mutated spec files through validate and compile, in workers.

Usage: python bench/fuzz.py [--cases 5000] [--seed 21 22 23 24] [--workers 2] [--timeout 5]
       python bench/fuzz.py --replay bench/fuzz-findings/hang-s21-c118-marts.yaml

Each case runs in a worker process (imports paid once per worker) watched by this one: a case
over ``--timeout`` s of CPU (or 10x that of wall time) is a hang and its worker is killed by PID
and replaced; each worker's address space is capped (``--memory-mb`` beyond its size after
imports). Every bad case is saved to ``--findings`` (default bench/fuzz-findings/, not
committed) as ``<kind>-s<seed>-c<case>-<spec file>``; ``--replay`` runs saved files again.
Prints a table; exits 1 on any uncaught exception, hang, memory blow-up, dead worker,
unlocated error or foreign Jinja in emitted files.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.pool import Pool, PoolReport, case_feed, replay_case

FINDINGS = Path(__file__).resolve().parent / "fuzz-findings"


def _ms(out: PoolReport, q: float) -> str:
    return f"{out.quantile(out.walls, q) * 1000:.0f} / {out.quantile(out.cpus, q) * 1000:.0f} ms"


def _table(out: PoolReport, args: argparse.Namespace, elapsed: float) -> list[tuple[str, str]]:
    rep = out.report
    ok = rep.compiled + rep.refused - rep.bad_locations - rep.leaks
    return [
        ("seeds x cases", f"{' '.join(map(str, args.seed))} x {args.cases:,}"),
        ("cases", f"{rep.cases:,}"),
        ("ok: valid, compiled", f"{rep.compiled - rep.leaks:,}"),
        ("ok: refused with located diagnostics", f"{rep.refused - rep.bad_locations:,}"),
        ("ok, total", f"{ok:,}"),
        ("uncaught exceptions", f"{sum(rep.crashes.values()):,}"),
        (f"hangs (> {args.timeout:g} s CPU)", f"{rep.hangs:,}"),
        (f"memory blow-ups (> {args.memory_mb:,} MB)", f"{rep.memory:,}"),
        ("workers died", f"{sum(rep.died.values()):,}"),
        ("errors without file:line:col in the right file", f"{rep.bad_locations:,}"),
        ("foreign Jinja / paths outside in emitted files", f"{rep.leaks:,}"),
        ("per case, median wall / CPU", _ms(out, 0.5)),
        ("per case, p99 wall / CPU", _ms(out, 0.99)),
        ("slowest case, wall / CPU", f"{max(out.walls, default=0):.2f} / {max(out.cpus, default=0):.2f} s"),
        ("workers / restarts", f"{args.workers} / {out.restarts}"),
        ("wall time", f"{elapsed:.0f} s"),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5_000, help="cases per seed")
    parser.add_argument("--seed", type=int, nargs="+", default=[17])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=5.0, help="CPU seconds per case")
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--findings", type=Path, default=FINDINGS)
    parser.add_argument("--replay", type=Path, nargs="+", default=None)
    args = parser.parse_args()
    feed = [replay_case(p) for p in args.replay] if args.replay else case_feed(args.cases, args.seed)
    started = time.monotonic()
    last = [started]

    def progress(out: PoolReport) -> None:
        if time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            line = f"... {out.report.cases:,} cases, {len(out.findings)} findings"
            print(line, file=sys.stderr, flush=True)

    with Pool(args.workers, args.timeout, args.memory_mb, args.findings) as pool:
        out = pool.run(feed, progress)
    elapsed = time.monotonic() - started
    rows = _table(out, args, elapsed) if not args.replay else _table(out, args, elapsed)[1:]
    width = max(len(k) for k, _ in rows)
    print(f"| {'outcome':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")
    for signature, count in out.report.crashes.most_common():
        print(f"crash: {signature} x{count}")
    for signature, count in out.report.died.most_common():
        print(f"died: {signature} x{count}")
    for f in out.findings:
        where = f.path if f.path else "(not saved)"
        print(f"finding: seed {f.seed} case {f.number}: {f.outcome.kind} {f.outcome.signature} -> {where}")
    return 0 if out.report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
