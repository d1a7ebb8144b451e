"""dbt's config schemas kept on disk between dbt workers (runtime/dbt_schema_cache.py).

Each probe runs in a new interpreter: the cache patches dbt's class for the whole process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datacody_dagster.compiler import compile_project
from datacody_dagster.emit.files import sync_generated_files
from datacody_dagster.runtime.dbt_schema_cache import cache_file
from tests.conftest import write_project
from tests.e2e.test_dbt_in_process import CLEAN, SPEC

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PARSE = """
import json, sys
from pathlib import Path
from datacody_dagster.runtime import dbt_runner
from datacody_dagster.runtime.dbt_schema_cache import SchemaCache, cache_file
dbt_dir = Path(sys.argv[1])
cache = SchemaCache(cache_file(dbt_dir))
print(json.dumps({"cached": len(cache.schemas)}))
cache.install()
errors = dbt_runner.parse(dbt_dir, file_log=False)
cache.save()
print(json.dumps({"errors": errors}))
"""


def _parse(dbt_dir: Path) -> tuple[int, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        [sys.executable, "-c", PARSE, str(dbt_dir)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return int(lines[0]["cached"]), list(lines[1]["errors"])


def test_schemas_are_built_once_then_read_and_still_validate(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"shop.yaml": SPEC}, {"data/raw/orders.csv": CLEAN}, dvc=False)
    project = compile_project(root)
    sync_generated_files(project)
    dbt_dir = (root / "dbt_project").resolve()
    assert _parse(dbt_dir) == (0, [])
    path = cache_file(dbt_dir)
    assert path is not None
    schemas = json.loads(path.read_text())
    project_class = "dbt.contracts.project.Project"
    assert project_class in schemas and "properties" in schemas[project_class]
    assert _parse(dbt_dir)[0] == len(schemas)  # the second worker reads them

    # The cached schema is the one validation uses: one that demands a field fails the parse.
    schemas[project_class] = {"type": "object", "required": ["datacody_planted_field"]}
    path.write_text(json.dumps(schemas))
    (dbt_dir / "target" / "partial_parse.msgpack").unlink(missing_ok=True)
    _, errors = _parse(dbt_dir)
    assert any("datacody_planted_field" in e for e in errors), errors

    # A schema that refers outside itself (validation would fetch the URL): the file is ignored.
    schemas[project_class] = {"$ref": "http://127.0.0.1:9/schema.json"}
    path.write_text(json.dumps(schemas))
    assert _parse(dbt_dir) == (0, [])

    path.write_text("{not json")  # a damaged file: built again, then rewritten
    assert _parse(dbt_dir) == (0, [])
    assert project_class in json.loads(path.read_text())
