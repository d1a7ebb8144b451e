"""The emitter's second wall (Jinja escaped in everything it writes) and the explicit opt-outs."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from datacody_dagster.compiler import compile_project, diagnose
from datacody_dagster.emit.dbt import emit_dbt_files, escape_jinja
from datacody_dagster.engines.sandbox import project_directories
from tests.confine.our_jinja import emitted_file_ok
from tests.confine.reproducers import RAW_CSV, RAW_SPEC
from tests.conftest import write_project


@pytest.mark.parametrize(
    "text",
    ["{{ env_var('K') }}", "{% do run_query('x') %}", "{# c #}", "a}b{c", "{'a': 1}", "}}{{", "plain"],
)
def test_escaped_text_renders_back_to_itself(text: str) -> None:
    assert jinja2.Environment().from_string(escape_jinja(text)).render() == text


def test_braces_in_sql_literals_and_struct_literals_reach_duckdb_as_text(tmp_path: Path) -> None:
    spec = """\
assets:
  braces:
    description: "Curly {braces} and a } alone"
    sql: |
      select {'a': 1} as s, 'x}y{z' as t, id from raw_orders
    checks:
      - accepted_values: {column: t, values: ["x}y{z"]}
"""
    write_project(
        tmp_path, {"raw.yaml": RAW_SPEC, "b.yaml": spec}, {"data/raw/orders.csv": RAW_CSV}, dvc=False
    )
    files = emit_dbt_files(compile_project(tmp_path))
    env = jinja2.Environment()
    for path, text in files.items():
        assert emitted_file_ok(path, text), path
    model = files["models/datacody/b/braces.sql"]
    rendered = env.from_string(model).render(
        ref=lambda n: n, source=lambda a, b: b, config=lambda **k: "", env_var=lambda k, d="": d
    )
    assert "{'a': 1}" in rendered.replace('"', "'") and "'x}y{z'" in rendered


def test_allow_external_access_is_an_explicit_opt_out(tmp_path: Path) -> None:
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "orders.csv").write_text(RAW_CSV, encoding="utf-8")
    root = tmp_path / "p"
    spec = "sources:\n  raw_orders:\n    path: ../shared/orders.csv\n"
    write_project(root, {"raw.yaml": spec}, dvc=False)
    _, diags = diagnose(root)
    assert [d.code for d in diags] == ["DC114"]
    (root / "resources" / "dev.yaml").write_text(
        "dvc:\n  enabled: false\nallow_external_access: true\n", encoding="utf-8"
    )
    project = compile_project(root)
    assert project_directories(project) is None  # no sandbox at run time either


def test_python_modules_allow_list(tmp_path: Path) -> None:
    spec = "assets:\n  parsed:\n    python: json:loads\n    deps: [raw_orders]\n"
    write_project(
        tmp_path, {"raw.yaml": RAW_SPEC, "py.yaml": spec}, {"data/raw/orders.csv": RAW_CSV}, dvc=False
    )
    _, diags = diagnose(tmp_path)
    assert [d.code for d in diags] == ["DC115"]
    (tmp_path / "resources" / "dev.yaml").write_text(
        "dvc:\n  enabled: false\npython_modules: [json]\n", encoding="utf-8"
    )
    _, diags = diagnose(tmp_path)
    assert diags == []


ALLOW_JSON = "dvc:\n  enabled: false\npython_modules: [json]\n"
PKG_FILES = {
    "pkg/__init__.py": "from .impl import transform\nimport os\n",
    "pkg/impl.py": "def transform(table):\n    return table\n\n\nscale = lambda table: table\nLIMIT = 3\n",
    # module-level rebindings: wrappers of a function defined here pass, other calls do not
    "pkg/wrapped.py": (
        "import functools\nimport os\nfrom functools import cache, partial\n\n\n"
        "def score(table):\n    return table\n\n\nscore = cache(score)\n"
        "ranked = functools.lru_cache(maxsize=None)(score)\n"
        "run = partial(os.system)\nrun2 = getattr(os, 'system')\nkind = type(score)\n"
        "helper = os.fspath\nnot_here = cache(helper)\nunknown = cache(missing)\n"
    ),
}


@pytest.mark.parametrize(
    ("ref", "says", "hint"),
    [
        ("json:codecs", "is the module `codecs` that `json` imports", "defined with `def` in `json`"),
        ("json.os:system", "`json.os` is not a module (`json` has no submodule `os`)", "by its own path"),
        ("json:decoder", "`json.decoder` is a submodule", "defined with `def` in `json`"),
        ("json:JSONDecoder", "imported into `json` from `json.decoder`", "`json.decoder:JSONDecoder`"),
        ("json.decoder:scanstring", "a value assigned in `json.decoder`", "`def`"),
        ("json:nope", "`json` defines no function `nope`", "`def`"),
        ("pkg:transform", "imported into `pkg` from `pkg.impl`", "`pkg.impl:transform`"),
        ("pkg:os", "is the module `os` that `pkg` imports", "`def`"),
        ("pkg.impl:LIMIT", "a value assigned in `pkg.impl`", "`def`"),
        ("pkg.wrapped:run", "a value assigned in `pkg.wrapped`", "`f = cache(f)`"),
        ("pkg.wrapped:run2", "a value assigned in `pkg.wrapped`", "`def`"),
        ("pkg.wrapped:kind", "a value assigned in `pkg.wrapped`", "`def`"),
        ("pkg.wrapped:not_here", "a value assigned in `pkg.wrapped`", "`def`"),
        ("pkg.wrapped:unknown", "a value assigned in `pkg.wrapped`", "`def`"),
    ],
)
def test_allowed_module_is_no_door_to_what_it_imports(tmp_path: Path, ref: str, says: str, hint: str) -> None:
    spec = f"assets:\n  parsed:\n    python: {ref}\n    deps: [raw_orders]\n"
    files = {"data/raw/orders.csv": RAW_CSV, "resources/dev.yaml": ALLOW_JSON, **PKG_FILES}
    write_project(tmp_path, {"raw.yaml": RAW_SPEC, "py.yaml": spec}, files, dvc=False)
    _, diags = diagnose(tmp_path)
    assert [(d.code, str(d.location)) for d in diags] == [("DC115", "asset_specs/py.yaml:3:5")]
    assert says in diags[0].message and hint in (diags[0].hint or ""), diags[0].format()


@pytest.mark.parametrize(
    "ref",
    [
        "json:loads",
        "json.decoder:JSONDecoder",
        "pkg.impl:transform",
        "pkg.impl:scale",
        "pkg.wrapped:score",  # score = cache(score)
        "pkg.wrapped:ranked",  # functools.lru_cache(maxsize=None)(score)
    ],
)
def test_functions_defined_in_the_module_pass(tmp_path: Path, ref: str) -> None:
    spec = f"assets:\n  parsed:\n    python: {ref}\n    deps: [raw_orders]\n"
    files = {"data/raw/orders.csv": RAW_CSV, "resources/dev.yaml": ALLOW_JSON, **PKG_FILES}
    write_project(tmp_path, {"raw.yaml": RAW_SPEC, "py.yaml": spec}, files, dvc=False)
    _, diags = diagnose(tmp_path)
    assert diags == []


def test_sandbox_folders_are_the_data_folders(tmp_path: Path) -> None:
    write_project(tmp_path, {"raw.yaml": RAW_SPEC}, {"data/raw/orders.csv": RAW_CSV}, dvc=False)
    dirs = project_directories(compile_project(tmp_path))
    assert dirs == [(tmp_path / "data").resolve()]


def test_profile_without_the_sandbox_plugin_is_refused(tmp_path: Path) -> None:
    from datacody_dagster.emit.files import sync_generated_files
    from datacody_dagster.errors import DatacodyError

    write_project(tmp_path, {"raw.yaml": RAW_SPEC}, {"data/raw/orders.csv": RAW_CSV}, dvc=False)
    old = "datacody:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ../data/datacody.duckdb}\n"
    (tmp_path / "dbt_project").mkdir()
    (tmp_path / "dbt_project" / "profiles.yml").write_text(old, encoding="utf-8")
    with pytest.raises(DatacodyError, match="does not load the sandbox plugin"):
        sync_generated_files(compile_project(tmp_path))
    assert not (tmp_path / "dbt_project" / "models").exists()
    (tmp_path / "resources" / "dev.yaml").write_text(
        "dvc:\n  enabled: false\nallow_external_access: true\n", encoding="utf-8"
    )
    assert sync_generated_files(compile_project(tmp_path)).written


def test_new_projects_get_the_sandbox_plugin(tmp_path: Path) -> None:
    from datacody_dagster.emit.dbt_profile import profile_problem
    from datacody_dagster.emit.files import sync_generated_files

    write_project(tmp_path, {"raw.yaml": RAW_SPEC}, {"data/raw/orders.csv": RAW_CSV}, dvc=False)
    sync_generated_files(compile_project(tmp_path))
    assert profile_problem(tmp_path / "dbt_project" / "profiles.yml") is None


@pytest.mark.parametrize(
    "ref", ["os:system", "subprocess:run", "builtins:eval", "jsonx:loads", "json:__import__"]
)
def test_python_modules_allow_list_opens_only_that_package(tmp_path: Path, ref: str) -> None:
    spec = f"assets:\n  parsed:\n    python: {ref}\n    deps: [raw_orders]\n"
    write_project(
        tmp_path, {"raw.yaml": RAW_SPEC, "py.yaml": spec}, {"data/raw/orders.csv": RAW_CSV}, dvc=False
    )
    (tmp_path / "resources" / "dev.yaml").write_text(
        "dvc:\n  enabled: false\npython_modules: [json]\n", encoding="utf-8"
    )
    _, diags = diagnose(tmp_path)
    assert [(d.code, str(d.location)) for d in diags] == [("DC115", "asset_specs/py.yaml:3:5")]
