"""Verified question -> query pairs in `semantic/verified.yaml` (readable, reviewable, in the repo)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from datacody_dagster.emit.files import atomic_write_text
from datacody_dagster.errors import DatacodyError
from datacody_dagster.semantic.words import content_tokens
from datacody_dagster.spec.query import MetricQuery

VERIFIED_FILE = "semantic/verified.yaml"
HEADER = "# Questions and the metric queries people verified (`datacody ask ... --accept/--correct`).\n"


@dataclass(frozen=True)
class VerifiedPair:
    question: str
    query: MetricQuery
    verified_at: str = ""


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the questions' content words (stemmed, synonyms folded)."""
    ta, tb = set(content_tokens(a)), set(content_tokens(b))
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


class VerifiedStore:
    def __init__(self, root: Path):
        self.path = root / VERIFIED_FILE

    def load(self) -> list[VerifiedPair]:
        if not self.path.exists():
            return []
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
            return [
                VerifiedPair(
                    str(item["question"]), MetricQuery(**item["query"]), str(item.get("verified_at", ""))
                )
                for item in data.get("verified", [])
            ]
        except (yaml.YAMLError, KeyError, TypeError, ValidationError) as exc:
            raise DatacodyError(f"{VERIFIED_FILE} cannot be read: {str(exc).splitlines()[0]}") from exc

    def add(self, question: str, query: MetricQuery) -> VerifiedPair:
        """Store the pair; a pair for the same question is replaced."""
        stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        pair = VerifiedPair(question.strip(), query, stamp)
        pairs = [p for p in self.load() if p.question.lower() != pair.question.lower()] + [pair]
        doc: dict[str, Any] = {
            "verified": [
                {
                    "question": p.question,
                    "query": p.query.model_dump(exclude_defaults=True),
                    "verified_at": p.verified_at,
                }
                for p in pairs
            ]
        }
        atomic_write_text(
            self.path, HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
        )
        return pair

    def closest(self, question: str, n: int = 3, min_score: float = 0.0) -> list[tuple[float, VerifiedPair]]:
        scored = [(similarity(question, p.question), p) for p in self.load()]
        scored = [s for s in scored if s[0] > min_score]
        return sorted(scored, key=lambda s: -s[0])[:n]
