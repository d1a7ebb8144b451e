"""Durations as written in specs: ``45s``, ``30m``, ``6h``, ``2d``, ``1w`` (a number and one unit)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION_HINT = "write a number and one unit: 30m, 6h, 2d or 1w"


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` stands for; ValueError (with how to write it) when it is not one."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"cannot read duration {text!r}: {DURATION_HINT}")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
