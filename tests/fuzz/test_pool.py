"""The fuzz worker pool: a hang inside compiled code, a memory blow-up and a dead worker are
findings with their spec saved, the worker is replaced by PID, and the run goes on."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import sqlglot

from tests.fuzz.fuzzer import Outcome, SeedProject, seeds
from tests.fuzz.pool import Pool, case_feed


def misbehave(projects: list[SeedProject], index: int, data: bytes, timeout: float) -> Outcome:
    """A worker target for this test: each spec asks for one kind of failure."""
    if data == b"join":  # fuzz seed 21 before the fix: sqlglot backtracks 2^40 in compiled code
        sqlglot.parse("select 1 from a" + " join b" * 40, read="duckdb")
    elif data == b"memory":
        bytearray(64 * 1024**3)
    elif data == b"abort":
        os.abort()
    return Outcome("refused")


def test_pool_survives_hang_memory_and_death(tmp_path: Path) -> None:
    feed = [(1, n, 0, data) for n, data in enumerate([b"ok", b"join", b"ok", b"memory", b"abort", b"ok"])]
    target = "tests.fuzz.test_pool:misbehave"
    with Pool(1, timeout=1.0, memory_mb=512, findings_dir=tmp_path, target=target) as pool:
        first = pool._workers[0].proc.pid
        out = pool.run(feed)
        last = pool._workers[0].proc.pid
    rep = out.report
    assert (rep.cases, rep.refused, rep.hangs, rep.memory) == (6, 3, 1, 1)
    assert dict(rep.died) == {"worker died (signal SIGABRT)": 1}
    assert out.restarts == 3 and first != last
    assert first is not None and not psutil.pid_exists(first)
    assert [(f.number, f.outcome.kind) for f in out.findings] == [(1, "hang"), (3, "memory"), (4, "died")]
    name = seeds()[0][0]  # the spec file of seed project 0
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == [f"died-s1-c4-{name}", f"hang-s1-c1-{name}", f"memory-s1-c3-{name}"]
    assert (tmp_path / f"hang-s1-c1-{name}").read_bytes() == b"join"
    assert max(out.cpus) < 10  # stopped at 2 s of CPU (timeout + grace) or 11 s of wall time


def test_pool_runs_real_cases_like_the_in_process_fuzzer(tmp_path: Path) -> None:
    with Pool(1, timeout=30.0) as pool:
        out = pool.run(case_feed(8, [21]))
    assert out.report.cases == 8 and out.report.ok
    assert out.report.compiled + out.report.refused == 8
    assert len(out.walls) == len(out.cpus) == 8
