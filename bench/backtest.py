"""Backtest benchmark: `slaguard rules backtest` against a full `evaluate` on the same store.

Generates 200,000 contacts with their history (bench/evaluate.py's generator) into a
temporary SQLite file, puts bench/dashboard.py's rules in force (three clock rules, a weekly
quota, a monthly acceptance rate), then per run, alternating on a fresh copy of the store:
- the full evaluation from empty with 2 worker processes (`slaguard evaluate`'s default here),
  the budget the backtest is held to (<= 20 s);
- the backtest of a candidate that changes every rule (each clock rule judged twice, once per
  side: the worst case), with 2 worker processes and in one process, on the store the full
  evaluation has just filled, over the default 90 days.
Medians of R runs. Usage: python bench/backtest.py [--contacts N] [--runs R]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard as dashboard_bench  # bench/dashboard.py: its rules
import evaluate as contacts_bench  # bench/evaluate.py: the contact generator

from app.evaluation.backtest_parallel import backtest_store
from app.evaluation.backtest_view import rule_rows
from app.evaluation.parallel import evaluate_all_parallel
from app.evaluation.rules_store import activate_text
from app.sla.loader import parse_rules, parse_stored_rules
from app.store.db import create_db_engine, create_session_factory, session_scope

# Every rule changed: both sides judge all three clock rules and every quota and rate period.
CANDIDATE = (
    (contacts_bench.RULES + dashboard_bench.EXTRA_RULES)
    .replace("goal: 4h", "goal: 2h")
    .replace("count: 3, within: 5d", "count: 4, within: 5d")
    .replace("max: 10d", "max: 7d")
    .replace("target: 4000", "target: 5000")
    .replace("minimum: 0.3", "minimum: 0.35")
)
WINDOW = timedelta(days=90)


def generated_store(folder: Path, contacts: int, now: datetime) -> Path:
    url, path = contacts_bench.new_store(folder, "generated.db")
    contacts_bench.generate(path, contacts, now)
    engine = create_db_engine(url)
    with session_scope(create_session_factory(engine)) as session:
        source = Path("bench/dashboard.py")
        rules = contacts_bench.RULES + dashboard_bench.EXTRA_RULES
        activate_text(session, source, rules, parse_stored_rules(rules, str(source)), now)
    engine.dispose()  # the last connection checkpoints the WAL: the file alone is the store
    return path


def timed(what: str, run: object) -> float:
    started = time.perf_counter()
    assert callable(run)
    run()
    spent = time.perf_counter() - started
    print(f"{what}: {spent:.1f} s (load average {os.getloadavg()[0]:.2f})", flush=True)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    candidate = parse_rules(CANDIDATE, "candidate.yaml")
    now = datetime.now(UTC).replace(microsecond=0)
    timings: dict[str, list[float]] = {"evaluate": [], "backtest_2": [], "backtest_1": []}
    with tempfile.TemporaryDirectory(prefix="slaguard-bench-") as tmp:
        folder = Path(tmp)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        generated = generated_store(folder, args.contacts, now)
        copy = folder / "run.db"
        url = f"sqlite:///{copy}"
        for _ in range(args.runs):
            shutil.copyfile(generated, copy)
            timings["evaluate"].append(
                timed(
                    "full evaluation, 2 workers",
                    lambda: evaluate_all_parallel(url, now=now, workers=2),
                )
            )
            for workers in (2, 1):
                timings[f"backtest_{workers}"].append(
                    timed(
                        f"backtest, {workers} worker(s)",
                        lambda w=workers: backtest_store(
                            url, candidate, now, now - WINDOW, workers=w
                        ),
                    )
                )
        # What was measured, for a reader to check it is a real comparison.
        shown = backtest_store(url, candidate, now, now - WINDOW, workers=2)
        print(f"records judged: {shown.records:,}")
        for row in rule_rows(shown):
            print(f"  {row.rule_id}: {row.measure} {row.in_force} -> {row.candidate}")
    median = {name: statistics.median(values) for name, values in timings.items()}
    print()
    print(
        f"Backtest on SQLite ({os.cpu_count()} cores, Python {sys.version.split()[0]}), "
        f"{args.contacts:,} contacts, medians of {args.runs} runs; load average after: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("| measure | median | runs | target |")
    print("| --- | --- | --- | --- |")
    rows = (
        ("full evaluation from empty, 2 workers (the budget)", "evaluate", ""),
        ("backtest, every rule changed, 90 days, 2 workers", "backtest_2", "<= 20 s"),
        ("backtest, every rule changed, 90 days, one process", "backtest_1", ""),
    )
    for label, name, target in rows:
        runs = ", ".join(f"{t:.1f}" for t in timings[name])
        print(f"| {label} | {median[name]:.1f} s | {runs} | {target} |")


if __name__ == "__main__":
    main()
