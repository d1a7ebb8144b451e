"""Detectors for secrets and personal data: one regular expression per kind.

Every expression is written in the common subset of RE2 (used vectorised through Arrow) and
Python's ``re`` with ``re.ASCII`` (used on the few flagged rows to validate and redact), so both
engines flag exactly the same rows. No look-arounds or back-references; ``\\s`` is avoided
because RE2 and Python disagree on ``\\v``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property


def luhn_ok(text: str) -> bool:
    """True when the digits of ``text`` pass the Luhn checksum (13 to 19 digits)."""
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """True when ``text`` is an IBAN with a valid ISO 13616 mod-97 checksum."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


@dataclass(frozen=True)
class Detector:
    """One kind of finding: its expression, redaction placeholder and optional validator."""

    kind: str
    regex: str
    placeholder: str
    validator: Callable[[str], bool] | None = None
    value_group: int = 0
    """Group replaced on redaction (0: the whole match; 2 keeps `password = ` visible)."""

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex, re.ASCII)

    def matches(self, text: str) -> list[re.Match[str]]:
        """Valid, non-overlapping matches in ``text`` (the reference semantics of a kind)."""
        found = self.compiled.finditer(text)
        if self.validator is None:
            return list(found)
        return [m for m in found if self.validator(m.group(self.value_group))]

    def redact(self, text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            value = m.group(self.value_group)
            if self.validator is not None and not self.validator(value):
                return m.group(0)
            start, end = m.span(self.value_group)
            return m.group(0)[: start - m.start()] + self.placeholder + m.group(0)[end - m.start() :]

        return self.compiled.sub(repl, text)


_KEYWORD = r"[A-Za-z0-9_]*(?:password|passwd|pwd|secret|api_?key|access_?token|auth_?token)[A-Za-z0-9_]*"

# Order matters for redaction: whole private-key blocks first, generic assignments last.
SECRET_DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        r"-----BEGIN [A-Z ]{0,30}PRIVATE KEY( BLOCK)?-----"
        r"(?:[\s\S]*?-----END [A-Z ]{0,30}PRIVATE KEY( BLOCK)?-----)?",
        "<PRIVATE_KEY>",
    ),
    Detector("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "<AWS_ACCESS_KEY>"),
    Detector(
        "github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,255})\b", "<GITHUB_TOKEN>"
    ),
    Detector("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,200}", "<SLACK_TOKEN>"),
    Detector("stripe_key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,200}", "<STRIPE_KEY>"),
    Detector("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}", "<GOOGLE_API_KEY>"),
    Detector("llm_api_key", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,200}", "<API_KEY>"),
    Detector("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", "<JWT>"),
    Detector(
        "password",
        r"(?i:(" + _KEYWORD + r"[\"']?[ \t]*[:=][ \t]*)[\"']([^\"' \t\r\n]{6,200})[\"'])",
        "<PASSWORD>",
        value_group=2,
    ),
)

PII_DETECTORS: tuple[Detector, ...] = (
    Detector(
        "email",
        r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b",
        "<EMAIL>",
    ),
    Detector("iban", r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b", "<IBAN>", iban_ok),
    Detector("credit_card", r"\b[0-9](?:[ -]?[0-9]){12,18}\b", "<CREDIT_CARD>", luhn_ok),
    Detector(
        "phone",
        r"(?:\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})(?:[ .-][0-9]{2,4}){2,4}\b"
        r"|(?:\([0-9]{3}\) ?|\b[0-9]{3}[.-])[0-9]{3}[.-][0-9]{4}\b)",
        "<PHONE>",
    ),
)

DETECTOR_SETS: dict[str, tuple[Detector, ...]] = {"secrets": SECRET_DETECTORS, "pii": PII_DETECTORS}


def combined_regex(detectors: tuple[Detector, ...]) -> str:
    """One alternation of every detector: the vectorised prefilter pass."""
    return "|".join(f"(?:{d.regex})" for d in detectors)
