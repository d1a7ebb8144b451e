"""Row counts only: the orders feed of bench/flywheel.py replayed through the learned band.

    .venv/bin/python bench/row_counts.py [--seeds 1-30] [--shifts 0.8,0.9,1.1,1.2] [--volume 800]

For each seed, every day after the 16th is judged against the 60 days before it, as
`row_count_anomaly` judges it (its default 10% minimum tolerance, the 0.1% budget the flywheel's
suggestions give it), with and without the per-weekday count-noise floor
(``checks/count_noise.py``), and with the 10% floor taken of the window's median count
(``pooled``) or of the judged weekday's level once the weekly pattern is believed (``weekday``,
what the check does): false alarms on the clean counts, and how often a count scaled by each shift
is caught. Seconds, no DuckDB: the counts are read from the feed's SQL.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flywheel import _orders

from datacody_dagster.checks.calibrate import Point, learn_band
from datacody_dagster.checks.count_noise import count_noise


def _counts(seed: int, volume: int) -> list[Point]:
    return [
        Point(float(re.search(r"range\((\d+)\)", sql).group(1)), ts)  # type: ignore[union-attr]
        for ts, sql in _orders(seed=seed, volume=volume).batches
    ]


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-30", help="A seed or a range, e.g. 4 or 1-30.")
    parser.add_argument("--shifts", default="0.8,0.9,1.1,1.2", help="Count multipliers to catch.")
    parser.add_argument(
        "--volume", type=int, default=800, help="A weekday's mean orders (from ~5,000 the 10%% floor binds)."
    )
    args = parser.parse_args()
    shifts = [float(x) for x in args.shifts.split(",")]
    configs = [(False, False), (True, False), (True, True)]  # (count-noise floor, weekday min_tolerance)
    tally = {c: {"days": 0, "alarms": 0, **{f: 0 for f in shifts}} for c in configs}
    for seed in _seeds(args.seeds):
        points = _counts(seed, args.volume)
        for t in range(16, len(points)):
            past = points[t - 60 if t > 60 else 0 : t]
            tolerance = 0.1 * statistics.median(p.value for p in past)
            for floor, weekday in configs:
                band = learn_band(
                    past,
                    points[t].timestamp,
                    max_false_alarm_rate=0.001,
                    min_tolerance=tolerance,
                    noise_at=count_noise if floor else None,
                    min_tolerance_at=(lambda level: 0.1 * level) if weekday else None,
                )
                if band is None:
                    continue
                row = tally[(floor, weekday)]
                row["days"] += 1
                row["alarms"] += not band.contains(points[t].value)
                for f in shifts:
                    row[f] += not band.contains(points[t].value * f)
    head = "".join(f" {'x' + format(f, 'g') + ' caught':>12}" for f in shifts)
    print(f"{'floor':8} {'10% of':8} {'days':>6} {'false alarms':>13} {'per 100':>8}{head}")
    for (floor, weekday), row in tally.items():
        days = max(row["days"], 1)
        caught = "".join(f" {100 * row[f] / days:>11.1f}%" for f in shifts)
        rate = 100 * row["alarms"] / days
        name, of = "sqrt" if floor else "none", "weekday" if weekday else "pooled"
        print(f"{name:8} {of:8} {row['days']:>6} {row['alarms']:>13} {rate:>8.2f}{caught}")


if __name__ == "__main__":
    main()
