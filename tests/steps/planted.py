"""Synthetic corpora with planted duplicates, secrets and personal data (ground truth known)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pyarrow as pa

SECRET_SAMPLES: dict[str, list[str]] = {
    "aws_access_key": ["AKIA" + "Q3X7ZP2L9M4N8B6V", "ASIA" + "J5K2L8M3N9P4Q7R1"],
    "github_token": [
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "gho_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2",
    ],
    "slack_token": ["xoxb-" + "123456789012-abcdefGHIJKL", "xoxp-" + "98765-4321-zyxWVUtsr"],
    "stripe_key": ["sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "rk_test_" + "51HxQ2eAbCdEfGhIjKlMnOp"],
    "google_api_key": ["AIza" + "SyD4v2bX9kQ1wE7rT5yU3iO0pL8aS6dF2gH"],
    "llm_api_key": ["sk-ant-" + "api03-" + "Xy7Zq2Wv9Ut4Sr1Qp6On3Ml8Kj5Ih0Gf"],
    "jwt": [
        "eyJhbGciOiJIUzI1NiJ9"
        + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
        + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    ],
    "private_key": ["-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----"],
    "password": ['db_password = "S3cr3t!Pass"', "API_KEY: 'q8w7e6r5t4y3'"],
}
PII_SAMPLES: dict[str, list[str]] = {
    "email": ["jane.doe@example.org", "ops+alerts@corp.example.co.uk"],
    "phone": ["+44 20 7946 0958", "(415) 555-0100", "212-555-0187"],
    "credit_card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "iban": ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"],
}
CLEAN_LINES = [
    "for i in range(10): total += values[i] * 2",
    "version = '3.11.7'  # release 2023-12-04",
    "ip = '192.168.1.1'; port = 8080; timeout = 30.5",
    "token = next(tokens)",
    "if password == '': raise ValueError('empty')",
    "assert 1234567890123 > 0  # not a card",
    "mail = parse_addr(header)  # see RFC 5322",
    "x = a @ b  # matrix product",
    "password = getpass.getpass()",
    "ISBN 978-3-16-148410-0 and order 12-345-6789",
]


@dataclass
class PlantedScan:
    table: pa.Table
    truth: list[set[str]] = field(default_factory=list)
    """Kinds planted in each row (secrets and PII together)."""


def scan_corpus(rows: int = 600, seed: int = 7) -> PlantedScan:
    """Rows of code-like text; every kind is planted in several rows, most rows are clean."""
    rng = random.Random(seed)
    texts, truth = [], []
    planted = [(k, v) for d in (SECRET_SAMPLES, PII_SAMPLES) for k, vs in d.items() for v in vs]
    for i in range(rows):
        lines = rng.sample(CLEAN_LINES, 3)
        kinds: set[str] = set()
        if i < len(planted) * 3:
            kind, value = planted[i % len(planted)]
            lines.insert(
                rng.randrange(4), f"config = {value!r}" if kind not in {"password", "private_key"} else value
            )
            kinds.add(kind)
        texts.append("\n".join(lines))
        truth.append(kinds)
    return PlantedScan(pa.table({"id": list(range(rows)), "content": texts}), truth)


@dataclass
class PlantedDups:
    table: pa.Table
    exact: set[int]
    near: set[int]
    original_of: dict[int, int]


def dup_corpus(
    originals: int = 400, exact: int = 40, near: int = 80, words: int = 120, edits: int = 3, seed: int = 3
) -> PlantedDups:
    """Random word documents, then exact copies and near copies (a few words substituted)."""
    rng = random.Random(seed)
    vocab = [f"tok{i}" for i in range(3000)] + ["def", "return", "self", "import", "class"]
    docs = [" ".join(rng.choices(vocab, k=words)) for _ in range(originals)]
    original_of: dict[int, int] = {}
    exact_ids, near_ids = set(), set()
    for _ in range(exact):
        src = rng.randrange(originals)
        original_of[len(docs)] = src
        exact_ids.add(len(docs))
        docs.append(docs[src])
    for _ in range(near):
        src = rng.randrange(originals)
        toks = docs[src].split()
        for _ in range(edits):
            toks[rng.randrange(len(toks))] = rng.choice(vocab)
        original_of[len(docs)] = src
        near_ids.add(len(docs))
        docs.append(" ".join(toks))
    table = pa.table({"doc_id": list(range(len(docs))), "content": docs})
    return PlantedDups(table, exact_ids, near_ids, original_of)


def jaccard(a: str, b: str, k: int = 3) -> float:
    """Exact Jaccard similarity of word k-gram sets."""
    ta, tb = a.split(), b.split()
    sa = {tuple(ta[i : i + k]) for i in range(len(ta) - k + 1)}
    sb = {tuple(tb[i : i + k]) for i in range(len(tb) - k + 1)}
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0
