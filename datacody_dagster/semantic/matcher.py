"""The offline matcher: a question -> a metric query from names, labels and descriptions alone.

Deterministic and local (no LLM, no data). Verified pairs come first; then metrics are scored by
the words they share with the question (name and label words weigh 3, description words 1),
group-by items by the words after "by"/"per"/"for each", time grains by their words anywhere,
and "top N"/"most"/"fewest" become an order and a limit. It says plainly when nothing matches.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from datacody_dagster.compiler.semantic import GroupBy, Metric, SemanticLayer
from datacody_dagster.semantic.verified import VerifiedPair, similarity
from datacody_dagster.semantic.words import content_tokens, stem, tokens
from datacody_dagster.spec.query import MetricQuery

VERIFIED_MIN = 0.6
_GROUP_CUES = re.compile(
    r"\b(?:by|per|for each|for every|each|every|across|grouped by|broken down by|split by)\b"
)
_SEGMENT_END = re.compile(
    r"\b(?:where|with|when|in|at|from|during|since|over|sorted|ordered|top|limit)\b|[?.!]"
)
_DESC = {"top", "most", "highest", "largest", "biggest", "max", "maximum", "worst", "busiest"}
_ASC = {"bottom", "least", "fewest", "lowest", "smallest", "min", "minimum", "best", "quietest"}
_TIME = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year", "date": "day"}


@dataclass(frozen=True)
class Match:
    query: MetricQuery | None
    source: str  # verified | matcher | none
    reason: str
    closest_metrics: tuple[str, ...] = ()


def _same(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a)))


def _score(question: set[str], strong: list[str], weak: list[str], named: list[str] | None = None) -> float:
    """Words shared with the question; a name word the question lacks counts against."""
    score = 0.0
    for q in question:
        if any(_same(q, s) for s in strong):
            score += 3
        elif any(_same(q, w) for w in weak):
            score += 1
    unmatched = [
        s for s in set(named if named is not None else strong) if not any(_same(s, q) for q in question)
    ]
    return score - 0.5 * len(unmatched) if score else 0.0


def metric_scores(layer: SemanticLayer, question: str) -> list[tuple[float, str]]:
    words = set(content_tokens(question))
    scored = []
    for m in layer.metrics:
        named = content_tokens(m.name.replace("_", " "))
        strong = named + content_tokens(m.label)
        scored.append((_score(words, strong, content_tokens(m.description or ""), named), m.name))
    return sorted(scored, key=lambda s: (-s[0], s[1]))


def closest_metrics(layer: SemanticLayer, question: str, n: int = 3) -> tuple[str, ...]:
    """The metrics nearest to a question: by shared words, else by spelling of name, label, description."""
    scored = [name for score, name in metric_scores(layer, question) if score > 0]
    if scored:
        return tuple(scored[:n])
    text = question.lower()

    def likeness(m: Metric) -> float:
        return difflib.SequenceMatcher(
            None, text, f"{m.name} {m.label} {m.description or ''}".lower()
        ).ratio()

    return tuple(m.name for m in sorted(layer.metrics, key=lambda m: -likeness(m))[:n])


def _full_name_match(layer: SemanticLayer, words: set[str], name: str) -> bool:
    metric = layer.metric(name)
    parts = content_tokens(name.replace("_", " "))
    label = content_tokens(metric.label) if metric else []
    return any(all(any(_same(p, w) for w in words) for p in cand) for cand in (parts, label) if cand)


def _metrics(layer: SemanticLayer, metric_part: str) -> list[str]:
    scored = [s for s in metric_scores(layer, metric_part) if s[0] > 0]
    if not scored:
        return []
    chosen = [scored[0][1]]
    if re.search(r"\band\b|,|&", metric_part.lower()):
        words = set(content_tokens(metric_part))
        chosen += [name for _, name in scored[1:] if _full_name_match(layer, words, name)]
    # drop a metric whose name words all belong to another chosen metric (departures vs jfk_departures)
    token_sets = {n: set(content_tokens(n.replace("_", " "))) for n in chosen}
    return [n for n in chosen if not any(o != n and token_sets[n] < token_sets[o] for o in chosen)]


def _group_item(items: list[GroupBy], segment: str) -> GroupBy | None:
    words = set(content_tokens(segment))
    if not words:
        return None
    best: tuple[float, int, GroupBy] | None = None
    for i, item in enumerate(items):
        strong = content_tokens(item.short.replace("_", " ")) + content_tokens(item.label or "")
        score = _score(words, strong, content_tokens(item.description or ""))
        if score > 0 and (best is None or score > best[0]):
            best = (score, i, item)
    return best[2] if best else None


_SUBJECT = re.compile(r"^which\s+(\w+)|\b(?:top|bottom)\s+(?:\d+\s+)?(\w+)")


def _segments(question: str) -> list[tuple[int, int]]:
    """Spans of the question that name group-by items: after "by"/"per"/..., "which X", "top N X"."""
    text = question.lower()
    spans: list[tuple[int, int]] = []
    for cue in _GROUP_CUES.finditer(text):
        end = _SEGMENT_END.search(text, cue.end())
        spans.append((cue.end(), end.start() if end else len(text)))
    for m in _SUBJECT.finditer(text):
        group = 1 if m.group(1) else 2
        spans.append((m.start(group), m.end(group)))
    return spans


def _group_by(layer: SemanticLayer, question: str, spans: list[tuple[int, int]]) -> list[str]:
    text = question.lower()
    items = [i for i in layer.group_bys() if not (i.kind == "time" and i.model is None)]
    metric_words = {
        w for m in layer.metrics for w in content_tokens(m.name.replace("_", " ") + " " + m.label)
    }
    chosen: list[str] = []
    for start, end in spans:
        for part in re.split(r"\band\b|,|&|/", text[start:end]):
            words = content_tokens(part)
            if not words or {stem(t) for t in tokens(part)} & set(_TIME) or set(tokens(part)) & set(_TIME):
                continue  # time grains are found below
            if all(any(_same(w, m) for m in metric_words) for w in words):
                continue  # "top 3 carriers by departures": the metric, not a dimension
            item = _group_item(items, part)
            if item and item.short not in chosen:
                chosen.append(item.short)
    for word in tokens(text):
        grain = _TIME.get(stem(word)) or _TIME.get(word)
        if grain and grain not in chosen and not any(c in _TIME.values() for c in chosen):
            chosen.append(grain)
    return chosen


def _order_limit(question: str, metric: str) -> tuple[list[str], int | None]:
    words = tokens(question)
    desc = any(w in _DESC for w in words)
    asc = any(w in _ASC for w in words)
    if not desc and not asc:
        return [], None
    order = [("-" if desc else "") + metric]
    limit = None
    m = re.search(
        r"\b(?:top|bottom|first|last)\s+(\d+)\b|\b(\d+)\s+(?:most|least|highest|lowest|busiest)\b",
        question.lower(),
    )
    if m:
        limit = int(m.group(1) or m.group(2))
    elif words and words[0] in {"which", "what"} and not re.search(r"\b(?:top|bottom)\b", question.lower()):
        limit = 1
    return order, limit


def match(layer: SemanticLayer, question: str, verified: list[VerifiedPair] = ()) -> Match:  # type: ignore[assignment]
    """The query a question asks for, or a plain refusal with the closest metrics."""
    best = max(((similarity(question, p.question), p) for p in verified), default=None, key=lambda s: s[0])
    if best and best[0] >= VERIFIED_MIN:
        return Match(
            best[1].query, "verified", f'verified answer to "{best[1].question}" ({best[0]:.0%} alike)'
        )
    head = re.split(r"\bwhere\b", question, maxsplit=1, flags=re.IGNORECASE)[0]
    spans = _segments(head)
    metric_part = "".join(" " if any(s <= i < e for s, e in spans) else ch for i, ch in enumerate(head))
    # time words pick the grain, not the metric ("daily departures")
    metric_part = " ".join(w for w in metric_part.split() if stem(w.lower().strip("?.,!")) not in _TIME)
    metrics = _metrics(layer, metric_part) or _metrics(layer, head)
    if not metrics:
        near = closest_metrics(layer, question)
        return Match(None, "none", "no metric name, label or description matches the question", near)
    where = None
    m = re.search(r"\bwhere\s+(.+?)\s*\??$", question, flags=re.IGNORECASE)
    if m:
        where = m.group(1)
    order, limit = _order_limit(question, metrics[0])
    query = MetricQuery(
        metrics=metrics, group_by=_group_by(layer, head, spans), where=where, order_by=order, limit=limit
    )
    return Match(query, "matcher", "matched metric and dimension names, labels and descriptions")
