"""Process-wide DuckDB databases survive a fork: a forked child opens its own and exits cleanly.

The child is a real ``os.fork()`` of a real Python process that ran queries on the shared
databases (DuckDB worker threads running); a hang shows as the subprocess timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from datacody_dagster.checks.context import _in_memory
    from datacody_dagster.engines.relations import _shared_session

    def work(tag):
        for session in (_shared_session(), _in_memory(None)):
            total = session.execute("select sum(i) from range(2000000) t(i)").fetchall()[0][0]
            assert total == 1999999000000, total
            session.close()
        print(tag, os.getpid(), flush=True)

    work("parent")
    pid = os.fork()
    if pid == 0:
        work("child")
        if sys.argv[1] == "exit":
            sys.exit(0)  # the interpreter's exit runs: nothing inherited may be destroyed then
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child status", os.waitstatus_to_exitcode(status), flush=True)
    """
)


@pytest.mark.parametrize("how", ["exit", "_exit"])
def test_a_forked_child_uses_the_shared_sessions_and_exits(tmp_path: Path, how: str) -> None:
    script = tmp_path / "fork.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, str(script), how], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["parent", "child", "child"], done.stdout
    assert lines[1].split()[1] != lines[0].split()[1]  # the child ran in another process
    assert lines[2] == "child status 0", done.stderr


def test_keep_forever_takes_one_reference_nothing_releases() -> None:
    import gc

    from datacody_dagster.engines import fork_safe

    obj = object()
    before = sys.getrefcount(obj)
    fork_safe.keep_forever(obj)
    gc.collect()
    assert sys.getrefcount(obj) == before + 1  # one mechanism: no list holding it besides
    assert not [v for v in vars(fork_safe).values() if isinstance(v, list)]
