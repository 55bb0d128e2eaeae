"""SLA properties written back to HubSpot (the sandbox, HubSpot's limits on, real time) at the
default pacing (190 requests per 10 s): batch updates of 100 records beside a baseline sending
one record per request, measured in the same run, three runs each.

Prints, per writer: records, requests, 429s, median records per second, requests per 1,000
records, and the share of the portal's request budget (190 per 10 s, i.e. 68,400 an hour) that
keeping 10,000 records current once an hour takes.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a script, bench/ comes first on the path, and bench/alerts.py would hide the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cli.hubspot import ensure_schema
from integrations.hubspot.limiter import RequestPacer
from integrations.hubspot.writes import HubSpotWriter
from sandbox.server import SandboxOptions, SandboxServer

PER_10S = 190
HOURLY_BUDGET = PER_10S * 360
BATCHED_RECORDS = 30_000
UNBATCHED_RECORDS = 600
RUNS = 3
STATES = ("running", "warning", "breached", "met", "met_late")


@dataclass
class Row:
    writer: str
    records: int
    requests: int
    refused_429: int
    rates: list[float]

    @property
    def per_thousand(self) -> float:
        return self.requests / self.records * 1000

    @property
    def hourly_share(self) -> float:
        return self.per_thousand * 10 / HOURLY_BUDGET


def run_once(sandbox: SandboxServer, ids: list[int], size: int, round_no: int) -> float:
    """Seconds to write `ids` in requests of `size` records, from a fresh pacing window."""
    sandbox.emulator.guard.reset()
    writer = HubSpotWriter(sandbox.token, sandbox.hubspot_url, pacer=RequestPacer(PER_10S, 5))
    updates = {str(i): {"slaguard_sla_state": STATES[(i + round_no) % 5]} for i in ids}
    items = list(updates.items())
    began = time.perf_counter()
    for start in range(0, len(items), size):
        writer.batch_update("contacts", dict(items[start : start + size]))
    return time.perf_counter() - began


def measure(sandbox: SandboxServer, name: str, ids: list[int], size: int) -> Row:
    before = sandbox.emulator.stats.snapshot()
    rates = [len(ids) / run_once(sandbox, ids, size, n) for n in range(RUNS)]
    after = sandbox.emulator.stats.snapshot()
    requests = int(after["total"]) - int(before["total"])  # type: ignore[call-overload]
    refused = int(after["rateLimited"]) - int(before["rateLimited"])  # type: ignore[call-overload]
    return Row(name, len(ids), requests // RUNS, refused, rates)


def main() -> None:
    with SandboxServer(SandboxOptions(contacts=BATCHED_RECORDS, limits=True)) as sandbox:
        ensure_schema(HubSpotWriter.for_portal(sandbox.token, sandbox.hubspot_url), dry_run=False)
        live = [r.id for r in sandbox.portal.truth("contacts") if not r.archived]
        rows = [
            measure(sandbox, "one record per request (baseline)", live[:UNBATCHED_RECORDS], 1),
            measure(sandbox, "batch update, 100 per request", live[:BATCHED_RECORDS], 100),
        ]
    print(f"SLA properties into the sandbox HubSpot, {PER_10S}/10 s pacing, median of {RUNS} runs")
    print(
        f"{'writer':<36} {'records':>8} {'requests':>8} {'429s':>5} {'records/s':>10} "
        f"{'req/1k':>7} {'budget for 10k/h':>17}"
    )
    for row in rows:
        print(
            f"{row.writer:<36} {row.records:>8} {row.requests:>8} {row.refused_429:>5} "
            f"{statistics.median(row.rates):>10.1f} {row.per_thousand:>7.1f} "
            f"{row.hourly_share:>16.2%}"
        )


if __name__ == "__main__":
    main()
