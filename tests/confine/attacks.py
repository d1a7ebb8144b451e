"""Attack probes of issue 17: specs that try to leave the project, each refused at `validate`.

A probe is one spec file (``asset_specs/attack.yaml`` unless it names its own file) added to a
valid project whose ``raw.yaml`` declares ``raw_orders`` (``data/raw/orders.csv``), plus an
optional setup (symbolic links, project modules). ``OUTSIDE`` in a probe's text is replaced by
a canary folder beside the project: the evidence that nothing ran is that it stays empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FAKE_KEY = "sk-ant-fake-0123456789-CONFINE-CANARY"


@dataclass(frozen=True)
class Probe:
    id: str
    kind: str
    text: str
    file: str = "attack.yaml"
    setup: Callable[[Path, Path], None] | None = None
    files: dict[str, str] = field(default_factory=dict)


def _asset_sql(sql: str) -> str:
    return "group: attack\nassets:\n  evil:\n    sql: |\n" + "".join(
        f"      {line}\n" for line in sql.splitlines()
    )


def _check(check_yaml: str) -> str:
    return (
        "group: attack\nassets:\n  evil:\n    sql: select id, amount, status from raw_orders\n"
        f"    checks:\n      - {check_yaml}\n"
    )


def _source(path: str, extra: str = "") -> str:
    return f"group: attack\nsources:\n  evil_src:\n    path: {path}\n{extra}"


def _python(ref: str) -> str:
    return f"group: attack\nassets:\n  evil:\n    python: {ref}\n    deps: [raw_orders]\n"


def _link(name: str, target: str) -> Callable[[Path, Path], None]:
    def setup(root: Path, outside: Path) -> None:
        link = root / name
        link.parent.mkdir(parents=True, exist_ok=True)
        real = Path(target.replace("OUTSIDE", str(outside)))
        if not real.exists() and str(outside) in str(real):
            real.parent.mkdir(parents=True, exist_ok=True)
            real.write_text("secret,1\n", encoding="utf-8")
        link.symlink_to(real)

    return setup


FILE_SQL = [
    "select * from read_text('/etc/passwd')",
    "select * from read_blob('/etc/passwd')",
    "select * from glob('/etc/*')",
    "select * from read_csv('../../x.csv')",
    "select * from query('select 42')",
    "select * from read_text('/proc/self/environ')",
    "select * from READ_TEXT('/etc/hostname')",
    "select * from \"read_text\"('/etc/hostname')",
    "select * from read_parquet('/tmp/x.parquet')",
    "select * from parquet_scan('/tmp/x.parquet')",
    "select * from read_json_auto('/etc/x.json')",
    "select * from read_csv_auto('/etc/passwd')",
    "select * from sniff_csv('/etc/passwd')",
    "select * from parquet_metadata('/tmp/x.parquet')",
    "select * from query_table('raw_orders')",
    "with t as (select * from read_text('/etc/passwd')) select * from t",
    "select o.*, p.content from raw_orders o, read_text('/etc/passwd') p",
    "select * from raw_orders where id in (select size from read_text('/etc/passwd'))",
    "select (select content from read_text('/proc/self/environ')) as leak from raw_orders",
    "select * from iceberg_scan('/tmp/ice')",
    "select * from sqlite_scan('/tmp/x.db', 't')",
    "select * from '/etc/passwd'",
    'select * from "../../x.csv"',
    "select * from read_ndjson('OUTSIDE/x.json')",
    "select * from parquet.`/etc/x.parquet`",
    "select * from csv.`/etc/passwd`",
    "select getenv('ANTHROPIC_API_KEY') as k from raw_orders",
    "select * from duckdb_secrets()",
]

JINJA_SQL = [
    "select id /* {{ run_query(\"copy (select 1) to 'OUTSIDE/x.csv'\") }} */ from raw_orders",
    "select '{{ run_query(\"copy (select 1) to ''OUTSIDE/x.csv''\") }}' as x from raw_orders",
    "select '{{ env_var(\"ANTHROPIC_API_KEY\") }}' as key from raw_orders",
    "select id from raw_orders -- {% do run_query('select 1') %}",
    "select id from raw_orders {# comment #}",
    "select id from {{ ref('raw_orders') ~ env_var('ANTHROPIC_API_KEY') }}",
    "select id from {{ source('datacody', 'raw_orders') }} where '{{ this }}' = ''",
]

STATEMENT_SQL = [
    "copy (select 1) to 'OUTSIDE/x.csv'",
    "attach 'OUTSIDE/evil.duckdb' as evil",
    "select 1 as id; copy (select 1) to 'OUTSIDE/x.csv'",
    "install httpfs",
    "load httpfs",
    "set enable_external_access = true",
    "pragma database_list",
    "create table x as select 1",
]

CHECKS = [
    "sql: select * from read_text('/etc/passwd')",
    "sql: select content from read_text('/proc/self/environ')",
    "sql: \"select 1; copy (select 1) to 'OUTSIDE/x.csv'\"",
    "sql: \"attach 'OUTSIDE/evil.duckdb'\"",
    "sql: select * from glob('/etc/*')",
    "sql: select * from text.`/etc/passwd`",
    'sql: "select \'{{ env_var(\\"ANTHROPIC_API_KEY\\") }}\' as k"',
    "sql: \"select id from raw_orders where '{{ run_query(''select 1'') }}' = ''\"",
    "sql: \"select id from raw_orders -- {% do run_query('select 1') %}\"",
    "sql: select getenv('ANTHROPIC_API_KEY') as k",
    "expression: \"amount > 0; copy (select 1) to 'OUTSIDE/x.csv'\"",
    "expression: \"amount > 0) union select * from read_text('/etc/passwd') --\"",
    "expression: \"amount in (select size from read_text('/etc/passwd'))\"",
    "expression: \"length(read_text('/etc/passwd')) > 0\"",
    "expression: \"1=1); attach 'OUTSIDE/evil.duckdb' as e; select (1\"",
    "expression: select 1",
    "expression: \"{{ run_query('select 1') }}\"",
    "{accepted_values: {column: status, values: [\"{{ env_var('ANTHROPIC_API_KEY') }}\"]}}",
    '{accepted_values: {column: status, values: [[["nested"]]]}}',
    "{not_null: [id], description: \"{{ env_var('ANTHROPIC_API_KEY') }}\"}",
    "{not_null: [id], name: \"{{ run_query('select 1') }}\"}",
    '{unique: "id\\") from x; copy (select 1) to \'OUTSIDE/y.csv\' --"}',
    '{schema: {"a\\" varchar); copy (select 1) to \'OUTSIDE/z.csv\'; --": integer}}',
    '{relationships: {column: id, to: "../../x", field: id}}',
]

TEXT = [
    "group: attack\ndescription: \"{{ env_var('ANTHROPIC_API_KEY') }}\"\nassets:\n  evil:\n"
    "    sql: select 1 as v\n",
    "group: attack\nassets:\n  evil:\n    description: \"{{ env_var('ANTHROPIC_API_KEY') }}\"\n"
    "    sql: select 1 as v\n",
    "group: attack\nassets:\n  evil:\n    sql: select 1 as v\n    columns:\n"
    "      v: {description: \"{% set x = run_query('select 1') %}\"}\n",
    "group: attack\nassets:\n  evil:\n    sql: select 1 as v\n    columns:\n"
    "      v: {description: \"{{ env_var('ANTHROPIC_API_KEY') }}\"}\n",
    "group: attack\nassets:\n  evil:\n    sql: select 1 as v\n    tags: {tier: \"{{ env_var('K') }}\"}\n",
    "group: attack\nowners: [\"{{ env_var('ANTHROPIC_API_KEY') }}\"]\nassets:\n  evil:\n"
    "    sql: select 1 as v\n",
    _source("data/raw/orders.csv", "    description: \"{{ env_var('ANTHROPIC_API_KEY') }}\"\n"),
    "group: attack\nassets:\n  evil:\n    materialized: incremental\n    incremental:\n"
    '      cursor: "id {{ run_query(\\"copy (select 1) to \'OUTSIDE/x.csv\'\\") }}"\n'
    "    sql: select id from raw_orders\n",
    "group: attack\nassets:\n  evil:\n    materialized: incremental\n    incremental:\n"
    '      cursor: "id > 0 or 1"\n    sql: select id from raw_orders\n',
    "group: attack\nassets:\n  evil:\n    materialized: incremental\n    incremental:\n"
    "      unique_key: \"id']) }} {{ run_query('select 1') }}\"\n    sql: select id from raw_orders\n",
    "group: attack\nassets:\n  evil:\n    sql: select id from raw_orders\n"
    "    partition_by: [\"id') to 'OUTSIDE/p' (format csv); --\"]\n",
]

OPTIONS = [
    "    options: {\"delim=',') ; copy (select 1) to 'OUTSIDE/x.csv'; select * from read_csv('x\": 1}\n",
    '    options: {filename: true, "rejects_table": evil}\n',
    "    options: {delim: \"{{ env_var('ANTHROPIC_API_KEY') }}\"}\n",
    '    options: {columns: {"id\\" varchar); copy (select 1) to \'OUTSIDE/x.csv\'; --": varchar}}\n',
    "    options: {types: {id: {nested: [1, 2]}}}\n",
    "    options: {unknown_option: 1}\n",
    '    columns:\n      "a\\"b": {type: varchar}\n',
]

PATHS = [
    "../outside.csv",
    "/etc/passwd",
    "../*",
    "data/../../x.csv",
    "stdlib://../../../../proc/self/environ",
    "stdlib://../*",
    "http://example.com/x.csv",
    "s3://bucket/x.csv",
    "~/.ssh/id_rsa",
    "data\\\\raw\\\\orders.csv",
    "data/raw/{x}.csv",
    "data/raw/{{ env_var('ANTHROPIC_API_KEY') }}.csv",
    "OUTSIDE/x.csv",
    "data/raw/" + "a" * 300 + ".csv",
    "data/" + "x/" * 600 + "y.csv",
]

PYTHON = [
    "os:abort",
    "os:system",
    "builtins:eval",
    "subprocess:run",
    "tempfile:mkdtemp",
    "shutil:rmtree",
    "importlib:import_module",
    "ctypes:CDLL",
    "examples.mod:_private",
    "nosuchpkg.mod:fn",
    "json:loads",
]

PYTHON_ATTRIBUTES = [
    "json:codecs",  # a module json imports
    "json.os:system",  # no such submodule: an attribute path, not a module
    "json.codecs:open",
    "json:decoder",  # a submodule reached as an attribute
    "json:JSONDecoder",  # re-exported from json.decoder
    "json.decoder:c_scanstring",  # imported from _json
    "json.decoder:scanstring",  # a value, not a def
    "json:no_such_function",
    "examples.mod:os",
    "examples.mod:run",
    "examples.mod:SETTINGS",
    "examples.mod:loads",
    "examples.mod:door",  # partial(os.system): a call, not a wrapper of a function defined here
    "examples.mod:getter",  # getattr(os, "system")
    "examples.mod:kind",  # type(fine): a builtin callee
    "examples.mod:wrapped_import",  # cache(run): wraps an imported function
]

SNEAKY_MODULE = (
    "import os\nfrom functools import cache, partial\nfrom os import system as run\nfrom json import *\n"
    "SETTINGS = {'a': 1}\n\n\ndef fine(table):\n    return table\n\n\n"
    "door = partial(os.system)\ngetter = getattr(os, 'system')\nkind = type(fine)\n"
    "wrapped_import = cache(run)\n"
)

FILTERS = [
    "size > 0) union all select * from step_input --",
    "size > 0; copy (select 1) to 'OUTSIDE/x.csv'",
    "size in (select size from read_text('/etc/passwd'))",
]

NAMES = [
    'group: attack\nassets:\n  "../../x":\n    sql: select 1 as v\n',
    'group: "/abs/path"\nassets:\n  x:\n    sql: select 1 as v\n',
    'group: "../../escape"\nassets:\n  x:\n    sql: select 1 as v\n',
    "group: attack\nassets:\n  " + "a" * 300 + ":\n    sql: select 1 as v\n",
    'group: attack\nassets:\n  "x\\0y":\n    sql: select 1 as v\n',
    'group: attack\nassets:\n  "my asset":\n    sql: select 1 as v\n',
    "group: attack\nassets:\n  café:\n    sql: select 1 as v\n",
    'group: attack\nassets:\n  "x{{y}}":\n    sql: select 1 as v\n',
    'group: attack\nassets:\n  "a\\nb":\n    sql: select 1 as v\n',
    'group: attack\nassets:\n  x:\n    sql: select 1 as v\n    deps: ["../../etc"]\n',
    'group: attack\nassets:\n  x:\n    sql: select 1 as v\n    columns:\n      "v; drop": {type: int}\n',
]


def _probes() -> list[Probe]:
    probes: list[Probe] = []
    probes += [Probe(f"file_sql_{i}", "file-reading SQL", _asset_sql(s)) for i, s in enumerate(FILE_SQL)]
    probes += [Probe(f"jinja_sql_{i}", "Jinja in SQL", _asset_sql(s)) for i, s in enumerate(JINJA_SQL)]
    probes += [Probe(f"stmt_{i}", "statements", _asset_sql(s)) for i, s in enumerate(STATEMENT_SQL)]
    probes += [Probe(f"check_{i}", "check injection", _check(c)) for i, c in enumerate(CHECKS)]
    probes += [Probe(f"text_{i}", "Jinja in text", t) for i, t in enumerate(TEXT)]
    probes += [
        Probe(f"option_{i}", "reader options", _source("data/raw/orders.csv", o))
        for i, o in enumerate(OPTIONS)
    ]
    probes += [Probe(f"path_{i}", "source paths", _source(f'"{p}"')) for i, p in enumerate(PATHS)]
    probes += [
        Probe(
            "path_symlink_file",
            "source paths",
            _source("data/raw/link.csv"),
            setup=_link("data/raw/link.csv", "OUTSIDE/s.csv"),
        ),
        Probe(
            "path_symlink_dir",
            "source paths",
            _source("data/raw/linkdir/*.csv"),
            setup=_link("data/raw/linkdir", "OUTSIDE"),
        ),
        Probe(
            "path_symlink_etc",
            "source paths",
            _source("data/raw/passwd.csv"),
            setup=_link("data/raw/passwd.csv", "/etc/passwd"),
        ),
        Probe(
            "text_symlink",
            "source paths",
            _source("data/raw/t/*", "    format: text\n"),
            setup=_link("data/raw/t", "OUTSIDE"),
        ),
    ]
    probes += [
        Probe(
            f"python_{i}",
            "python modules",
            _python(r),
            files={"examples/__init__.py": "", "examples/mod.py": "def _private(): ...\n"},
        )
        for i, r in enumerate(PYTHON)
    ]
    probes.append(
        Probe(
            "python_shadow_os", "python modules", _python("os:system"), files={"os.py": "def system(): ...\n"}
        )
    )
    # An allowed module is no door to what it imports: json is allowed, its attributes that are
    # modules, re-exports or values are not (nor the project module's imports).
    probes += [
        Probe(
            f"python_attr_{i}",
            "python modules",
            _python(r),
            files={
                "resources/dev.yaml": "dvc:\n  enabled: false\npython_modules: [json]\n",
                "examples/__init__.py": "",
                "examples/mod.py": SNEAKY_MODULE,
            },
        )
        for i, r in enumerate(PYTHON_ATTRIBUTES)
    ]
    probes += [
        Probe(
            f"filter_{i}",
            "check injection",
            "group: attack\nsources:\n  code:\n    path: data/raw/*.py\n    format: text\nassets:\n"
            f'  evil:\n    from: code\n    steps:\n      - filter: "{f}"\n',
        )
        for i, f in enumerate(FILTERS)
    ]
    probes += [Probe(f"name_{i}", "names", t) for i, t in enumerate(NAMES)]
    probes += [
        Probe(
            "file_name_jinja",
            "names",
            "group: attack\nassets:\n  x:\n    sql: select 1 as v\n",
            file="{{ env_var('K') }}.yaml",
        ),
        Probe(
            "file_name_newline",
            "names",
            "group: attack\nassets:\n  x:\n    sql: select 1 as v\n",
            file="a\nselect 1.yaml",
        ),
    ]
    return probes


PROBES = _probes()
