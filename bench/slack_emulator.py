"""Slack emulator latency as slack_sdk sees it over loopback: median and p99 per method.

Prints a table. Limits are off so that the numbers are the emulator's own cost; the alert
tests post hundreds of messages, and each should cost a few milliseconds at most.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable

import uvicorn
from slack_sdk import WebClient

from sandbox.slack import SlackEmulatorState, create_slack_app

CALLS = 400


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


def timings_ms(call: Callable[[int], object]) -> list[float]:
    spent = []
    for index in range(CALLS):
        began = time.perf_counter()
        call(index)
        spent.append((time.perf_counter() - began) * 1000)
    return spent


def main() -> None:
    state = SlackEmulatorState(rate_limits=False)
    url, server = serve(state)
    client = WebClient(token=next(iter(state.tokens)), base_url=url)
    rep = client.users_lookupByEmail(email="grace.hopper@example.com")["user"]["id"]
    dm = client.conversations_open(users=rep)["channel"]["id"]
    first = client.chat_postMessage(channel="sales", text="first")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Jane Roe* is waiting"}}]
    cases: dict[str, Callable[[int], object]] = {
        "auth.test": lambda i: client.auth_test(),
        "chat.postMessage (channel)": lambda i: client.chat_postMessage(
            channel="sales", text=f"alert {i}", blocks=blocks
        ),
        "chat.postMessage (DM)": lambda i: client.chat_postMessage(channel=dm, text=f"dm {i}"),
        "chat.update": lambda i: client.chat_update(
            channel=first["channel"], ts=first["ts"], text=f"v{i}"
        ),
        "users.lookupByEmail": lambda i: client.users_lookupByEmail(
            email="ada.lovelace@example.com"
        ),
    }
    print(f"{CALLS} sequential calls each, slack_sdk WebClient over loopback, limits off")
    print(f"{'method':<28} {'median ms':>10} {'p99 ms':>8}")
    for name, call in cases.items():
        spent = sorted(timings_ms(call))
        p99 = spent[int(len(spent) * 0.99) - 1]
        print(f"{name:<28} {statistics.median(spent):>10.2f} {p99:>8.2f}")
    server.should_exit = True


if __name__ == "__main__":
    main()
