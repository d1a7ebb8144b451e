"""The Jinja that emitted dbt files may contain: datacody's own names only (one definition for the
escaping tests and the fuzzer)."""

from __future__ import annotations

import jinja2
from jinja2 import meta, nodes

OUR_JINJA = {"ref", "source", "config", "this", "is_incremental", "env_var"}
# MetricFlow's filter templates, written by emit/semantic.py from filters parsed by sqlglot.
OUR_JINJA |= {"Dimension", "TimeDimension", "Entity", "Metric"}
# env_var: only the write-audit-publish switch that emit/dbt.py writes itself, never spec text.
OUR_ENV_VARS = {"DATACODY_DBT_STAGE"}


def only_our_jinja(text: str) -> bool:
    """True when ``text`` parses as Jinja and uses only datacody's own names and env vars."""
    try:
        ast = jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError:
        return False
    if not meta.find_undeclared_variables(ast) <= OUR_JINJA:
        return False
    calls = [c for c in ast.find_all(nodes.Call) if getattr(c.node, "name", "") == "env_var"]
    return all(
        c.args and isinstance(c.args[0], nodes.Const) and c.args[0].value in OUR_ENV_VARS for c in calls
    )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def emitted_file_ok(name: str, text: str) -> bool:
    """An emitted dbt file: SQL is one Jinja template; YAML is read first (as dbt does), then
    each string value is a template."""
    if not name.endswith((".yml", ".yaml")):
        return only_our_jinja(text)
    import yaml

    return all(only_our_jinja(s) for s in _strings(yaml.safe_load(text)))
