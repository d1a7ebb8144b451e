"""A mutation fuzzer for spec files, run in-process through what `validate` and `compile` do.

Seeds are the repository's example specs and a jaffle_shop-like project; mutators work on
bytes, lines and YAML/SQL tokens (control characters, invalid UTF-8, anchors and aliases,
deep nesting, Jinja, names with `../`, unicode, huge values). A case passes when:

- no exception other than :class:`DatacodyError` escapes parse, validate, plan, emit or write;
- it takes at most ``HANG_S`` seconds of CPU;
- every error diagnostic carries ``file:line:col`` (line, col >= 1) in a spec file of the
  project, at least one of them in the mutated file (or it is a cross-file error);
- when it compiles, every written file is inside the project and the emitted dbt files hold
  no Jinja but datacody's own (``ref``, ``source``, ``config``, ``this``, ``is_incremental``).

`bench/fuzz.py` runs it by hand (20,000+ cases); `tests/fuzz/` runs a bounded number.
"""

from __future__ import annotations

import random
import shutil
import signal
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from datacody_dagster.compiler import compile_project, diagnose
from datacody_dagster.emit.files import sync_generated_files
from datacody_dagster.errors import DatacodyError, Diagnostic
from tests.confine.our_jinja import emitted_file_ok

REPO = Path(__file__).resolve().parents[2]
HANG_S = 5.0
CROSS_FILE = {"DC100", "DC101", "DC102", "DC105"}

JAFFLE = """\
group: jaffle
owners: [team:analytics]
sources:
  raw_customers: {path: data/raw/customers.csv, description: Customers}
  raw_orders:
    path: data/raw/orders.csv
    options: {nullstr: NA, delim: ","}
    columns:
      id: {type: integer, checks: [unique, not_null]}
assets:
  stg_customers:
    materialized: view
    sql: select id as customer_id, first_name, last_name from raw_customers
    checks:
      - unique: customer_id
  stg_orders:
    sql: |
      select id as order_id, user_id as customer_id, order_date, status, amount
      from {{ ref('raw_orders') }}
    checks:
      - not_null: [order_id, customer_id]
      - accepted_values: {column: status, values: [placed, shipped, completed, returned]}
      - expression: amount >= 0 or status = 'returned'
  customers:
    description: One row per customer
    sql: |
      with o as (select customer_id, count(*) as orders, sum(amount) as total
                 from stg_orders group by customer_id)
      select c.customer_id, c.first_name, o.orders, o.total
      from stg_customers c left join o using (customer_id)
    columns:
      customer_id: {type: integer, description: Key, checks: [unique]}
    checks:
      - relationships: {column: customer_id, to: stg_customers, field: customer_id}
      - {row_count: {min: 1}, severity: warn}
      - sql: select * from customers where total < 0
    schedule: "0 6 * * *"
  orders_incr:
    materialized: incremental
    incremental: {unique_key: order_id, cursor: order_date}
    sql: select * from stg_orders
  spark_orders:
    engine: spark
    materialized: table
    sql: select order_id, amount from stg_orders
  order_scores:
    python: examples.flight_transforms:carrier_fleet
    deps: [customers]
    materialized: table
  order_sample:
    from: stg_orders
    materialized: table
    steps:
      - filter: "amount > 0"
"""

JAFFLE_DATA = {
    "data/raw/customers.csv": "id,first_name,last_name\n1,Ada,L\n2,Grace,H\n",
    "data/raw/orders.csv": "id,user_id,order_date,status,amount\n1,1,2024-01-01,placed,10\n",
}

TOKENS = [
    "{{", "}}", "{%", "%}", "{#", "{{ env_var('ANTHROPIC_API_KEY') }}", "{{ ref('x') }}",
    "&a ", "*a", "&b [*b]", "<<: *a", "!!python/object:os.system", "!!binary", "? ", "- ", ": ",
    "[", "]", "{", "}", "(" * 200, ")" * 200, "'", '"', "\\", "|", ">", "#", "---", "...",
    "\t", "\r", "\x00", "\x07", "\x1b", "\x7f", "\u202e", "\ufeff", "\ud7ff", "é", "日本",
    "../", "/etc/passwd", "stdlib://../../", "read_text('/etc/passwd')", "glob('/*')", "; ",
    "copy (select 1) to '/tmp/x'", "null", "~", "true", "false", "0", "-1", "1e999", "0x1F",
    "2020-02-30", "1:20:30", ".inf", ".nan", "a" * 300, "x" * 70, " " * 40, "\n", "\n  ",
    "unique: false", "unique: []", "unique: 0", "checks: [unique]", "python: os:system",
    "materialized: incremental", "incremental: {cursor: x}", "deps: [a, a]", "from: x",
    "steps: [{filter: x}]", "schema: {a: int}", "engine: spark", "path: data/*.csv",
    "materialized: view", "view", "\n    materialized: view", "\n    engine: spark",
]  # fmt: skip

_BAD_BYTES = [b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80"]


def seeds() -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(mutated file name, spec files, data files) per seed project."""
    example = {p.name: p.read_text(encoding="utf-8") for p in sorted((REPO / "asset_specs").glob("*.yaml"))}
    out = [(name, example, {}) for name in example]
    out.append(("jaffle.yaml", {"jaffle.yaml": JAFFLE}, JAFFLE_DATA))
    return out


def mutate(rng: random.Random, text: str) -> bytes:
    """One to four random mutations of a spec's text."""
    data = text.encode("utf-8")
    for _ in range(rng.choice((1, 1, 1, 2, 3, 4))):
        op = rng.randrange(9)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:  # delete a range
            end = min(len(data), pos + rng.randint(1, 40))
            data = data[:pos] + data[end:]
        elif op == 1:  # insert a token
            data = data[:pos] + rng.choice(TOKENS).encode("utf-8", "surrogatepass") + data[pos:]
        elif op == 2:  # invalid UTF-8
            data = data[:pos] + rng.choice(_BAD_BYTES) + data[pos:]
        elif op == 3 and data:  # flip a byte
            i = min(pos, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
        elif op == 4:  # duplicate a line
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif op == 5:  # delete a line
            lines = data.split(b"\n")
            del lines[rng.randrange(len(lines))]
            data = b"\n".join(lines)
        elif op == 6:  # re-indent a line
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            lines[i] = (b" " * rng.choice([0, 1, 2, 4, 6, 8])) + lines[i].lstrip(b" ")
            data = b"\n".join(lines)
        elif op == 7:  # replace a scalar after `: ` with a token
            i = data.find(b": ", pos)
            if i >= 0:
                end = data.find(b"\n", i)
                end = len(data) if end < 0 else end
                data = data[: i + 2] + rng.choice(TOKENS).encode("utf-8", "surrogatepass") + data[end:]
        else:  # repeat a chunk (long chains, big files)
            end = min(len(data), pos + rng.randint(1, 200))
            data = data[:pos] + data[pos:end] * rng.randint(2, 30) + data[pos:]
    return data


@dataclass(frozen=True)
class Outcome:
    """What one case did: ``compiled``, ``refused``, ``crash``, ``hang``, ``bad_location``,
    ``leak`` (or, from the worker pool, ``memory`` and ``died``); ``signature`` for the bad ones."""

    kind: str
    signature: str = ""

    @property
    def ok(self) -> bool:
        return self.kind in ("compiled", "refused")


@dataclass
class Report:
    cases: int = 0
    compiled: int = 0
    refused: int = 0
    crashes: Counter[str] = field(default_factory=Counter)
    hangs: int = 0
    bad_locations: int = 0
    leaks: int = 0
    memory: int = 0
    died: Counter[str] = field(default_factory=Counter)
    slowest_s: float = 0.0
    examples: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.crashes or self.hangs or self.bad_locations or self.leaks or self.memory or self.died
        )

    def add(self, outcome: Outcome, data: bytes) -> None:
        """Count one case's outcome (the first spec of each bad signature is kept)."""
        self.cases += 1
        if outcome.kind == "compiled":
            self.compiled += 1
        elif outcome.kind == "refused":
            self.refused += 1
        elif outcome.kind == "hang":
            self.hangs += 1
        elif outcome.kind == "bad_location":
            self.refused += 1
            self.bad_locations += 1
        elif outcome.kind == "leak":
            self.compiled += 1
            self.leaks += 1
        elif outcome.kind == "memory":
            self.memory += 1
        elif outcome.kind == "died":
            self.died[outcome.signature] += 1
        else:
            self.crashes[outcome.signature] += 1
        if not outcome.ok:
            self.examples.setdefault(outcome.signature or outcome.kind, data)


class _Hang(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def raise_hang(signum: int, frame: object) -> None:
        raise _Hang

    # CPU time, not wall time: the machine is shared, a loaded minute is no hang
    old = signal.signal(signal.SIGPROF, raise_hang)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def _located(d: Diagnostic, specs: set[str]) -> bool:
    loc = d.location
    return loc is not None and loc.line >= 1 and loc.col >= 1 and loc.file in specs


def check_case(root: Path, name: str, data: bytes, others: set[str], hang_s: float = HANG_S) -> Outcome:
    """Write ``data`` as ``asset_specs/name``, put it through validate and compile, judge it.

    ``hang_s`` is an in-process alarm on CPU seconds: it stops Python code, not a loop inside
    compiled code (the worker pool in ``tests/fuzz/pool.py`` kills the process for those)."""
    spec_dir = root / "asset_specs"
    (spec_dir / name).write_bytes(data)
    specs = {f"asset_specs/{p}" for p in (*others, name)}
    try:
        with _deadline(hang_s):
            _, diags = diagnose(root)
            errs = [d for d in diags if d.severity == "error"]
            if errs:
                if not all(_located(d, specs) for d in errs) or not any(
                    (d.location is not None and d.location.file == f"asset_specs/{name}")
                    or d.code in CROSS_FILE
                    for d in errs
                ):
                    return Outcome("bad_location", "location:" + errs[0].code)
                return Outcome("refused")
            project = compile_project(root)
            sync_generated_files(project)
            dbt_dir = root / "dbt_project"
            for path in (dbt_dir / "models").rglob("*"):
                if not path.resolve().is_relative_to(root.resolve()):
                    return Outcome("leak", "path outside")
                if path.is_file() and not emitted_file_ok(path.name, path.read_text(encoding="utf-8")):
                    return Outcome("leak", "jinja")
            return Outcome("compiled")
    except _Hang:
        return Outcome("hang", "hang")
    except DatacodyError:
        return Outcome("refused")
    except MemoryError:
        return Outcome("memory", "MemoryError")
    except Exception as exc:  # the point of the fuzzer: anything else is a crash
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return Outcome("crash", f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}")


@dataclass(frozen=True)
class SeedProject:
    """A project on disk whose spec ``name`` (text ``text``) the cases replace."""

    root: Path
    name: str
    text: str
    others: set[str]

    def check(self, data: bytes, hang_s: float = HANG_S) -> Outcome:
        """Run one mutated spec and put the original back."""
        try:
            return check_case(self.root, self.name, data, self.others, hang_s)
        finally:
            (self.root / "asset_specs" / self.name).write_text(self.text, encoding="utf-8")


def make_projects(workdir: Path) -> list[SeedProject]:
    """One project folder per seed under ``workdir``."""
    projects = []
    for i, (name, files, data_files) in enumerate(seeds()):
        root = workdir / f"seed{i}"
        (root / "asset_specs").mkdir(parents=True)
        (root / "resources").mkdir()
        (root / "resources" / "dev.yaml").write_text("dvc:\n  enabled: false\n", encoding="utf-8")
        for fname, text in files.items():
            (root / "asset_specs" / fname).write_text(text, encoding="utf-8")
        for rel, text in data_files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        if (REPO / "examples").is_dir():
            shutil.copytree(REPO / "examples", root / "examples")
        projects.append(SeedProject(root, name, files[name], set(files) - {name}))
    return projects


def cases(count: int, seed: int) -> Iterator[tuple[int, int, bytes]]:
    """(case number from 1, seed project index, mutated spec): the same stream for a seed."""
    rng = random.Random(seed)
    texts = [files[name] for name, files, _ in seeds()]
    for number in range(1, count + 1):
        i = rng.choice(range(len(texts)))  # what rng.choice(projects) drew before
        yield number, i, mutate(rng, texts[i])


def fuzz(count: int, seed: int, workdir: Path) -> Report:
    """Run ``count`` mutated spec files in this process (reproducible for a given ``seed``)."""
    report = Report()
    projects = make_projects(workdir)
    for _, i, data in cases(count, seed):
        project = projects[i]
        started = time.monotonic()
        try:
            report.add(project.check(data), data)
        finally:
            report.slowest_s = max(report.slowest_s, time.monotonic() - started)
    return report
