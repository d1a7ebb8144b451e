"""DC107: `python:` names a `module:function` (checked by form; imported at run time)."""

from __future__ import annotations

import re

from datacody_dagster import errors
from datacody_dagster.compiler.index import ProjectIndex
from datacody_dagster.errors import Diagnostic
from datacody_dagster.spec import AssetSpecModel

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def check(index: ProjectIndex) -> list[Diagnostic]:
    diags = []
    for entry in index.entries:
        spec = entry.spec
        if isinstance(spec, AssetSpecModel) and spec.python and not _REF.match(spec.python):
            loc = entry.location("python")
            diags.append(
                Diagnostic(
                    errors.INVALID_PYTHON_REF,
                    f"asset `{entry.name}`: `python: {spec.python}` is not `module:function`",
                    loc,
                    "write e.g. `python: my_pkg.transforms:customer_scores`",
                )
            )
    return diags
