"""Modules queued with import_later are imported while the parent waits for its dbt worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datacody_dagster.runtime.dbt_worker import DbtWorker
from datacody_dagster.runtime.import_later import import_later


def test_queued_modules_are_imported_during_the_wait() -> None:
    script = """
import sys
from datacody_dagster.runtime.import_later import import_later, import_pending
import_later(["wave", "no_such_module_anywhere", "wave"])
assert "wave" not in sys.modules
import_pending()  # a missing module is left for the real import to report
assert "wave" in sys.modules
import_pending()  # nothing left
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_a_worker_invocation_imports_the_queue_before_reading_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "queued_for_later.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    worker = DbtWorker()
    worker.process.kill()
    worker.process.wait()
    invocation = {"parse_errors": None, "results": [], "success": True, "messages": [], "exception": None}
    answer = json.dumps({"invocation": invocation, "parses": 1, "cpu_s": 0.0})
    # A stand-in worker that answers only once the parent has imported the queued module: a
    # parent that imported it after reading the answer would wait here until the timeout.
    stand_in = (
        "import sys, os, time, json; sys.stdin.readline(); print(json.dumps({'started': True}), flush=True)\n"
        f"deadline = time.monotonic() + 30\n"
        f"while not os.path.exists({str(marker)!r}) and time.monotonic() < deadline: time.sleep(0.01)\n"
        f"print({answer!r} if os.path.exists({str(marker)!r}) else '', flush=True)\n"
    )
    pipe = subprocess.PIPE
    worker.process = subprocess.Popen([sys.executable, "-c", stand_in], stdin=pipe, stdout=pipe)
    import_later(["queued_for_later"])
    outcome = worker.invoke_run(["orders"])
    worker.close()
    sys.modules.pop("queued_for_later", None)
    assert outcome is not None and outcome.success, outcome
