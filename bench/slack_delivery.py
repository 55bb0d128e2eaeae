"""Slack delivery against the emulator with Slack's rate limits on, in real time: the paced
deliverer beside a baseline that is not paced and only honours Retry-After after a 429.

Prints a table: deliveries, wall seconds, deliveries per second and the 429s Slack answered,
for alerts spread over 200 channels and for a burst into one channel.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

# Run as a script, bench/ comes first on sys.path and bench/alerts.py would hide the alerts
# package: the repository root goes in front.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.delivery import DeliveryJob, MessageRef, Outcome, SlackContent
from alerts.messages import SlackMessage
from alerts.model import TargetKind
from alerts.slack_delivery import SlackDeliverer
from integrations.slack import SlackClient
from integrations.slack.pacing import PacingLimits, SlackPacer
from sandbox.slack import SlackEmulatorState, create_slack_app

CHANNELS = 200
BURST = 20
# Far above Slack's limits: the baseline leaves it to Slack to say no.
UNPACED = PacingLimits(
    channel_burst=10_000, workspace_per_minute=10**6, workspace_burst=10_000, method_per_minute={}
)


class Refs:
    def __init__(self) -> None:
        self.refs: dict[tuple[int, str], MessageRef] = {}

    def find(self, instance_id: int, target: str) -> MessageRef | None:
        return self.refs.get((instance_id, target))

    def save(self, instance_id: int, target: str, ref: MessageRef) -> None:
        self.refs[(instance_id, target)] = ref


@dataclass
class Row:
    scenario: str
    deliverer: str
    deliveries: int
    seconds: float
    refused_429: int


def serve(state: SlackEmulatorState) -> tuple[str, uvicorn.Server]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_slack_app(state), log_level="warning", access_log=False)
    )
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}/api/", server


def job(number: int, channel: str) -> DeliveryJob:
    text = f"SLA breached: lead {number}"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return DeliveryJob(
        delivery_ids=(number,),
        key=f"bench-{number}/{channel}",
        target_kind=TargetKind.SLACK_CHANNEL,
        target=channel,
        attempt=1,
        slack=SlackContent(SlackMessage(text, blocks), instance_id=number),
    )


def run(name: str, paced: bool, channels: list[str], per_channel: int) -> Row:
    state = SlackEmulatorState(channels=channels)
    url, server = serve(state)
    client = SlackClient(next(iter(state.tokens)), base_url=url)
    pacer = SlackPacer() if paced else SlackPacer(UNPACED)
    deliverer = SlackDeliverer(client, Refs(), pacer=pacer)
    ids = [channel.id for channel in state.channels() if channel.name in channels]
    jobs = [job(n * len(ids) + i, cid) for n in range(per_channel) for i, cid in enumerate(ids)]
    began = time.perf_counter()
    for current in jobs:
        attempt = 1
        while True:
            result = deliverer.deliver(replace(current, attempt=attempt))
            if result.outcome is Outcome.DELIVERED:
                break
            assert result.outcome is Outcome.RETRY, result.detail
            time.sleep(result.retry_after or 0.5)
            attempt += 1
    seconds = time.perf_counter() - began
    refused = sum(1 for call in state.calls if call.status == 429)
    server.should_exit = True
    return Row(name, "paced" if paced else "unpaced (baseline)", len(jobs), seconds, refused)


def main() -> None:
    many = [f"alerts-{n:03d}" for n in range(CHANNELS)]
    rows = []
    for paced in (False, True):
        rows.append(run(f"{CHANNELS} channels, 1 alert each", paced, many, 1))
        rows.append(run(f"1 channel, {BURST} alerts at once", paced, ["sales"], BURST))
    print("Slack delivery through the emulator, Slack's limits on, real time")
    print(f"{'scenario':<30} {'deliverer':<20} {'sent':>5} {'s':>7} {'sent/s':>8} {'429s':>5}")
    for row in rows:
        rate = row.deliveries / row.seconds
        print(
            f"{row.scenario:<30} {row.deliverer:<20} {row.deliveries:>5} "
            f"{row.seconds:>7.1f} {rate:>8.1f} {row.refused_429:>5}"
        )


if __name__ == "__main__":
    main()
