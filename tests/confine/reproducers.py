"""The crash reproducers of issue 17, rebuilt from its text: spec files that once crashed.

Each is ``(id, file name, text or bytes)``; a valid ``raw.yaml`` source (``raw_orders``) sits
beside them in the test projects so that specs can reference something real.
"""

from __future__ import annotations

CHAIN = 1_100

_chain = "assets:\n" + "".join(
    f"  a{i}:\n    sql: select * from a{i - 1}\n" if i else "  a0:\n    sql: select * from raw_orders\n"
    for i in range(CHAIN)
)

_bomb = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
    )
    + "assets:\n  z:\n    sql: select 1 as v\n"
)


_joins = "      join raw_orders b\n" * 22


def _semantic(expr: str) -> str:
    return (
        "assets:\n  orders_sem:\n    sql: select id as order_id, amount from raw_orders\n"
        "    semantic:\n      entities:\n        order_id: {type: primary}\n"
        f'      measures:\n        amount_total: {{agg: sum, expr: "{expr}"}}\n'
    )


def _nested(levels: int, leaf: str) -> str:
    return "[" * levels + leaf + "]" * levels


REPRODUCERS: list[tuple[str, str, str | bytes]] = [
    ("ctrl_del", "c1.yaml", "assets:\n  x:\n    sql: select 1 as v\x7f\n"),
    ("ctrl_bel", "c2.yaml", "assets:\n  x:\n    description: ring \x07\n    sql: select 1 as v\n"),
    ("ctrl_esc", "c3.yaml", "assets:\n  x:\n    sql: select '\x1b[31m' as v\n"),
    ("ctrl_nul", "c4.yaml", "assets:\n  x\x00:\n    sql: select 1 as v\n"),
    ("invalid_utf8", "u.yaml", b"assets:\n  x:\n    description: caf\xe9\n    sql: select 1 as v\n"),
    ("recursive_alias", "r.yaml", "rec: &a [*a]\nassets:\n  x:\n    sql: select 1 as v\n"),
    ("alias_bomb", "bomb.yaml", _bomb),
    (
        "nested_parens",
        "p.yaml",
        "assets:\n  x:\n    sql: select " + "(" * 3000 + "1" + ")" * 3000 + " as v\n",
    ),
    (
        "nested_options",
        "o.yaml",
        "sources:\n  s:\n    path: data/raw/orders.csv\n    options: {delim: " + _nested(2000, "x") + "}\n",
    ),
    (
        "nested_accepted_values",
        "av.yaml",
        "assets:\n  x:\n    sql: select 1 as v\n    checks:\n"
        "      - accepted_values: {column: v, values: " + _nested(2000, "1") + "}\n",
    ),
    (
        "unique_false",
        "uf.yaml",
        "assets:\n  x:\n    sql: select 1 as v\n    checks:\n      - unique: false\n",
    ),
    ("unique_zero", "uz.yaml", "assets:\n  x:\n    sql: select 1 as v\n    checks:\n      - unique: 0\n"),
    ("unique_empty", "ue.yaml", "assets:\n  x:\n    sql: select 1 as v\n    checks:\n      - unique: []\n"),
    (
        "unique_true_asset_level",
        "ut.yaml",
        "assets:\n  x:\n    sql: select 1 as v\n    checks:\n      - unique: true\n",
    ),
    ("long_group", "lg.yaml", "group: " + "g" * 300 + "\nassets:\n  x:\n    sql: select 1 as v\n"),
    ("long_asset", "la.yaml", "assets:\n  " + "a" * 300 + ":\n    sql: select 1 as v\n"),
    ("nul_escape_name", "ne.yaml", 'assets:\n  "x\\0y":\n    sql: select 1 as v\n'),
    ("space_name", "sp.yaml", 'assets:\n  "my asset":\n    sql: select 1 as v\n'),
    ("unicode_name", "un.yaml", "assets:\n  café:\n    sql: select 1 as v\n"),
    ("dotdot_name", "dd.yaml", 'assets:\n  "../../x":\n    sql: select 1 as v\n'),
    ("abs_group", "ag.yaml", 'group: "/tmp/evil"\nassets:\n  x:\n    sql: select 1 as v\n'),
    ("long_source_path", "lp.yaml", "sources:\n  s:\n    path: " + "a" * 300 + "\n"),
    ("bracket_key", "bk.yaml", "a[ssets:\n  x:\n    sql: select 1 as v\n"),
    ("union_marker_key", "um.yaml", "str: 1\nassets:\n  x:\n    sql: select 1 as v\n"),
    ("bad_file_stem", "bad name.yaml", "assets:\n  x:\n    sql: select 1 as v\n"),
    # fuzz seed 21 (a line `join stflights f` repeated 29 times): sqlglot backtracks 2^n on
    # JOINs without ON/USING, inside compiled code; 22 of them would take ~1 min, 29 hours
    ("open_join_chain", "jc.yaml", "assets:\n  x:\n    sql: select 1 as v from raw_orders a\n" + _joins),
    # passed validate, then RecursionError rendering canonical SQL in compile
    ("cast_chain", "cc.yaml", "assets:\n  x:\n    sql: select 1" + "::int" * 1500 + " as v\n"),
    (
        "mixed_operators",
        "mo.yaml",
        "assets:\n  x:\n    sql: select " + " + 1 - ".join(["1"] * 800) + " as v\n",
    ),
    # quadratic in sqlglot's parser: 600 subscripts ~10 s, 1,500 minutes
    ("subscript_chain", "sc.yaml", "assets:\n  x:\n    sql: select [1]" + "[1]" * 600 + " as v\n"),
    # semantic `expr:` had no limits: RecursionError, and the 2^n join backtracking
    ("semantic_nested", "sn.yaml", _semantic("(" * 3000 + "1" + ")" * 3000)),
    ("semantic_unary", "su.yaml", _semantic("- " * 3000 + "1")),
    ("semantic_open_joins", "sj.yaml", _semantic("amount in (select 1 from a" + " join b" * 22 + ")")),
]
"""Every entry must be refused (exit 1 at the CLI) with a location in its own file."""

ACCEPTED: list[tuple[str, str, str | bytes]] = [
    ("asset_chain", "chain.yaml", _chain),
    ("bad_date", "bd.yaml", "assets:\n  x:\n    description: 2020-02-30\n    sql: select 1 as v\n"),
]
"""Once crashed, but valid: they must validate and compile."""

RAW_SPEC = """\
sources:
  raw_orders:
    path: data/raw/orders.csv
"""

RAW_CSV = "id,amount,status\n1,10.5,placed\n2,3.0,shipped\n"
