"""Words of questions and metric descriptions: tokens, a light stemmer and generic synonyms."""

from __future__ import annotations

import re

_STOP_TEXT = """a an the of for to in on at by per each every is are was were be been do did does what which
who how me show give list tell with and or all our we i you it its that this there their from as than
into over
across broken down split please"""
STOPWORDS = frozenset(_STOP_TEXT.split())
# Generic English only: domain words belong in the specs' labels and descriptions.
SYNONYMS = {
    "share": "rate", "percentage": "rate", "percent": "rate", "fraction": "rate", "proportion": "rate",
    "ratio": "rate", "pct": "rate",
    "mean": "averag", "avg": "averag", "typical": "averag",
    "number": "count", "many": "count", "total": "count",
    "late": "delay", "lateness": "delay",
    "daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter", "yearly": "year",
    "annual": "year", "annually": "year",
}  # fmt: skip
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s", "ly", "e")


def stem(word: str) -> str:
    word = SYNONYMS.get(word, word)
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if word.endswith("l") and word[-2:-1] == "l" and len(word) > 5:
        word = word[:-1]  # cancell -> cancel
    return SYNONYMS.get(word, word)


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def content_tokens(text: str) -> list[str]:
    """Stemmed tokens without stop words."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS]
