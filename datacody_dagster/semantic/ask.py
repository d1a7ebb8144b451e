"""`ask`: a question -> a metric query, by the LLM (names and descriptions only) or offline.

The LLM sees the semantic layer's names, labels and descriptions and the closest verified
question/query pairs, never a data row. Its answer is a typed MetricQuery validated against the
layer: unknown names are sent back once with the closest names, then the question is refused
with the metrics nearest to it. Without an LLM the deterministic matcher answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, model_validator

from datacody_dagster.compiler.semantic import SemanticLayer
from datacody_dagster.errors import DatacodyError
from datacody_dagster.semantic.matcher import closest_metrics, match
from datacody_dagster.semantic.query import resolve
from datacody_dagster.semantic.verified import VerifiedPair, similarity
from datacody_dagster.spec.query import MetricQuery

RE_ASKS = 1
"""After an answer fails validation, ask once more (instructor's max_retries counts re-asks)."""


class AskAnswer(BaseModel):
    """The metric query that answers the question (only names from the catalog)."""

    answerable: bool = Field(description="False when no metric of the catalog answers the question.")
    metrics: list[str] = Field(default_factory=list, description="Metric names from the catalog.")
    group_by: list[str] = Field(default_factory=list, description="Group-by names from the catalog.")
    where: str | None = Field(None, description="SQL predicate over group-by names, e.g. origin = 'JFK'.")
    order_by: list[str] = Field(
        default_factory=list, description="Metric or group-by names; '-' = descending."
    )
    limit: int | None = Field(None, ge=1)

    def to_query(self) -> MetricQuery:
        return MetricQuery(
            metrics=self.metrics,
            group_by=self.group_by,
            where=self.where,
            order_by=self.order_by,
            limit=self.limit,
        )

    @model_validator(mode="after")
    def _names_exist(self, info: ValidationInfo) -> AskAnswer:
        layer = (info.context or {}).get("layer")
        if layer is None or not self.answerable:
            return self
        if not self.metrics:
            raise ValueError("an answerable question needs at least one metric from the catalog")
        try:
            resolve(layer, self.to_query())
        except DatacodyError as exc:
            raise ValueError(
                "; ".join(d.message + (f" ({d.hint})" if d.hint else "") for d in exc.diagnostics)
                + ". Use only names from the catalog."
            ) from None
        return self


@dataclass(frozen=True)
class AskOutcome:
    question: str
    query: MetricQuery | None
    source: str  # llm | verified | matcher | none
    explanation: str
    closest_metrics: tuple[str, ...] = ()

    def refusal(self, layer: SemanticLayer) -> str:
        near = [f"{n} ({m.label})" for n in self.closest_metrics if (m := layer.metric(n))]
        text = f'cannot answer "{self.question}": {self.explanation}'
        return text + (f"\n  closest metrics: {', '.join(near)}" if near else "")


SYSTEM = """You translate a business question into a metric query for a MetricFlow semantic layer.
Use only metric and group-by names from the catalog. Group by time with day, week, month, quarter or
year. `where` is a SQL predicate over group-by names (for example origin = 'JFK'). `order_by` lists
metric or group-by names of the query, with a leading '-' for descending. Set answerable to false when
no metric of the catalog answers the question; never invent names."""


def catalog(layer: SemanticLayer) -> str:
    """Names, labels and descriptions of the layer: everything the LLM is told (no data)."""
    lines = ["Metrics (name: label - description):"]
    for m in layer.metrics:
        lines.append(f"- {m.name}: {m.label}" + (f" - {m.description}" if m.description else ""))
    lines.append("Group by (name: label - description):")
    for item in layer.group_bys():
        if item.kind == "time" and item.model is None:
            continue
        text = " - ".join(t for t in (item.label, item.description) if t)
        lines.append(f"- {item.short}: {text}" if text else f"- {item.short}")
    lines.append("- day, week, month, quarter, year: time grains")
    return "\n".join(lines)


def prompt(layer: SemanticLayer, question: str, examples: list[VerifiedPair]) -> str:
    parts = [catalog(layer)]
    if examples:
        parts.append("Verified answers to similar questions:")
        parts += [f'- "{p.question}" -> {p.query.text()}' for p in examples]
    parts.append(f'Question: "{question}"')
    return "\n\n".join(parts)


def ask(layer: SemanticLayer, question: str, llm: Any | None, verified: list[VerifiedPair]) -> AskOutcome:
    """Map ``question`` to a query of ``layer``: through ``llm`` when online, else the matcher."""
    if not layer.metrics:
        raise DatacodyError(
            "no metrics to ask about: add `metrics:` to a spec file (or pick another --group)"
        )
    if llm is None or not llm.online:
        found = match(layer, question, verified)
        return AskOutcome(question, found.query, found.source, found.reason, found.closest_metrics)
    from instructor.core import InstructorRetryException

    scored = sorted(((similarity(question, p.question), p) for p in verified), key=lambda s: -s[0])
    examples = [p for s, p in scored[:3] if s > 0]
    try:
        answer = llm.model_copy(update={"max_retries": RE_ASKS}).structured(
            AskAnswer,
            system=SYSTEM,
            user=prompt(layer, question, examples),
            context={"layer": layer},
        )
    except InstructorRetryException as exc:
        if not isinstance(exc.__context__, ValidationError):  # the provider failed, not the answer
            first = (str(exc).splitlines() or [""])[0][:200]
            raise DatacodyError(
                f"the LLM call failed ({first}); retry, or answer offline with --offline"
            ) from exc
        return AskOutcome(
            question,
            None,
            "none",
            "the LLM named metrics or dimensions the layer does not have, twice",
            closest_metrics(layer, question),
        )
    except DatacodyError:
        raise
    except Exception as exc:  # network, auth, provider errors: say so, no traceback
        first = (str(exc).splitlines() or [""])[0][:200]
        raise DatacodyError(
            f"the LLM call failed ({type(exc).__name__}: {first}); retry, or answer offline with --offline"
        ) from exc
    if not answer.answerable:
        return AskOutcome(
            question,
            None,
            "none",
            "no metric answers it (the LLM said so)",
            closest_metrics(layer, question),
        )
    return AskOutcome(question, answer.to_query(), "llm", f"mapped by the LLM ({llm.model})")
