"""The end-to-end alert scene: a store with breached leads, the sandbox's Slack workspace over
HTTP, a local webhook receiver, and slaguard run as real processes against them.

Three reps (Slack members with their HubSpot owners' emails) each own one lead that became an
MQL two hours ago against a one-hour first-touch promise, in a calendar open around the clock
(so DMs never wait for working hours and the test does not depend on the weekday). Breaches
and their "met late" go to the owner's DM and the `crm` webhook; the lead of team 77 also to
#sales (named by name, as most rules files do). Every alert is one Slack message per
instance and target, updated in place.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from standardwebhooks import Webhook

from app.models import AlertDelivery, AlertDeliveryAttempt
from app.store.db import create_db_engine, create_session_factory, session_scope
from integrations.webhooks.signing import WebhookSecret
from sandbox.slack import SlackEmulatorState, StoredMessage
from tests.fixtures.crm import add_mql, add_owner, add_touch, seed_portal
from tests.fixtures.slaguard_process import SlaguardEnv
from tests.integrations.webhooks.receiver import Receiver

SECRET_ENV = "SLAGUARD_E2E_WEBHOOK_SECRET"
# HubSpot owner id -> (Slack member's email, HubSpot team)
REPS = {
    "21": ("grace.hopper@example.com", "55"),
    "22": ("alan.turing@example.com", "55"),
    "23": ("katherine.johnson@example.com", "77"),
}
LEADS = {"101": "21", "102": "22", "103": "23"}  # contact id -> owner id
CHANNEL_TEAM = "77"
TEAM_MATCH = f'teams: ["{CHANNEL_TEAM}"]'
OPEN_ALL_WEEK = ", ".join(
    f'{day}: ["00:00-24:00"]' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)


def rules_text(receiver_url: str, channel_match: str = TEAM_MATCH) -> str:
    return f"""calendars:
  default:
    time_zone: UTC
    hours: {{{OPEN_ALL_WEEK}}}
rules:
  - id: first-touch
    kind: response
    start: {{entered_stage: marketingqualifiedlead}}
    stop: {{engagement: {{types: [call]}}}}
    goal: 1h
    warning_at: null
alerts:
  group_wait: 1s
  webhooks:
    crm:
      url: {receiver_url}
      secret_env: {SECRET_ENV}
  routes:
    - name: reps
      match: {{rules: [first-touch], events: [breached, met_late]}}
      receivers: [owner]
      fallback: ["#revops-alerts"]
      continue: true
    - name: crm
      match: {{events: [breached, met_late]}}
      receivers: ["webhook:crm"]
      continue: true
    - name: team-channel
      match: {{events: [breached, met_late], {channel_match}}}
      receivers: ["#sales"]
"""


@dataclass
class Scene:
    database_url: str
    workdir: Path
    slack: SlackEmulatorState
    slack_url: str
    receiver: Receiver
    secret: WebhookSecret = field(default_factory=WebhookSecret.generate)
    channel_match: str = TEAM_MATCH
    more_environment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rules = self.workdir / "sla.yaml"
        rules.write_text(rules_text(self.receiver.url, self.channel_match))
        self.env = SlaguardEnv(
            self.workdir,
            {
                **self.more_environment,
                "DATABASE_URL": self.database_url,
                "SLAGUARD_RULES": str(rules),
                "SLACK_BOT_TOKEN": next(iter(self.slack.tokens)),
                "SLACK_API_URL": f"{self.slack_url}/api/",
                "SLAGUARD_WEBHOOKS_ALLOW_PRIVATE": "true",
                SECRET_ENV: self.secret.text(),
                "SLAGUARD_LOG_LEVEL": "WARNING",
            },
        )

    # -- the store -------------------------------------------------------------------------

    def _scope(self) -> Any:
        engine = create_db_engine(self.database_url)
        return engine, session_scope(create_session_factory(engine))

    def seed_breached_leads(self, now: datetime) -> None:
        engine, scope = self._scope()
        with scope as session:
            seed_portal(session)
            for owner_id, (email, team) in REPS.items():
                add_owner(
                    session, owner_id, email=email, teams=[{"id": team}], primary_team_id=team
                )
            for contact_id, owner_id in LEADS.items():
                add_mql(session, contact_id, now - timedelta(hours=2), owner=owner_id)
        engine.dispose()

    def call_every_lead(self, now: datetime) -> None:
        """Each owner calls their lead now: every breached instance becomes met late."""
        engine, scope = self._scope()
        with scope as session:
            for contact_id, owner_id in LEADS.items():
                add_touch(session, f"call-{contact_id}", contact_id, now, owner=owner_id)
        engine.dispose()

    def deliveries(self) -> Counter[str]:
        """Outbox rows by state."""
        engine, scope = self._scope()
        with scope as session:
            rows = session.execute(
                select(AlertDelivery.state, func.count()).group_by(AlertDelivery.state)
            ).all()
        engine.dispose()
        return Counter({state: int(count) for state, count in rows})

    def attempt_outcomes(self) -> list[tuple[int, int, str]]:
        """(delivery, attempt, outcome) of every logged attempt."""
        engine, scope = self._scope()
        with scope as session:
            rows = session.execute(
                select(
                    AlertDeliveryAttempt.delivery_id,
                    AlertDeliveryAttempt.attempt,
                    AlertDeliveryAttempt.outcome,
                ).order_by(AlertDeliveryAttempt.id)
            ).all()
        engine.dispose()
        return [(int(d), int(a), str(o)) for d, a, o in rows]

    # -- slaguard --------------------------------------------------------------------------

    def start_deliver(self, *args: str) -> subprocess.Popen[str]:
        return self.env.start("deliver", *args, log=self.workdir / "deliver.log")

    def outbox_rows(self) -> int:
        return sum(self.deliveries().values())

    def deliver_until_settled(self, timeout: float = 120.0) -> int:
        """`slaguard deliver` again and again, as cron would run it, until no row is pending
        or delivering; returns how many runs it took."""
        deadline = time.monotonic() + timeout
        runs = 0
        while True:
            states = self.deliveries()
            if not states["pending"] and not states["delivering"]:
                return runs
            if time.monotonic() > deadline:
                log = (self.workdir / "deliver.log").read_text()
                raise AssertionError(f"the outbox did not settle: {dict(states)}\n{log}")
            self.env.run("deliver")
            runs += 1
            time.sleep(0.3)  # retries are due seconds apart; no need to spin

    # -- Slack -----------------------------------------------------------------------------

    def set_outages(self, *outages: dict[str, Any]) -> None:
        answer = httpx.post(f"{self.slack_url}/slack/api/faults", json={"outages": list(outages)})
        answer.raise_for_status()

    def outages_met(self) -> list[tuple[int | None, int]]:
        """(status, calls met) of each outage episode in force."""
        body = httpx.get(f"{self.slack_url}/slack/api/faults").json()
        return [(o["status"], o["met"]) for o in body["outages"]]

    def dm_messages(self) -> dict[str, list[StoredMessage]]:
        return {email: self.slack.messages_to(email) for email, _ in REPS.values()}

    def channel_messages(self) -> list[StoredMessage]:
        return self.slack.messages("sales")

    def slack_versions(self) -> int:
        """Every version of every message: a new post or an update adds one."""
        return sum(len(m.versions) for m in self.slack.all_messages())

    def successful_calls(self, method: str) -> int:
        return sum(1 for c in self.slack.calls if c.method == method and c.error is None)

    # -- the webhook receiver --------------------------------------------------------------

    def verify_every_signature(self) -> None:
        verifier = Webhook(self.secret.text())
        for request in self.receiver.requests:
            verifier.verify(request.body, request.headers)

    def webhook_ids(self, failed: set[int]) -> tuple[Counter[str], set[str]]:
        """`webhook-id`s of the requests the receiver accepted, counted, and of those it
        failed (the receiver answers its script in arrival order, so the test knows which
        requests by position got a scripted failure)."""
        requests = self.receiver.requests
        accepted = Counter(
            r.headers["webhook-id"] for n, r in enumerate(requests) if n not in failed
        )
        refused = {requests[n].headers["webhook-id"] for n in failed}
        return accepted, refused


def now_utc() -> datetime:
    return datetime.now(UTC)


def instance_of(message: StoredMessage) -> Any:
    metadata = message.metadata or {}
    return metadata.get("event_payload", {}).get("instance_id")


@dataclass(frozen=True)
class Sent:
    """What the alerting has produced so far, everywhere it can be seen."""

    outbox_rows: int
    slack_versions: int
    webhook_requests: int

    @classmethod
    def now(cls, scene: Scene) -> Sent:
        return cls(scene.outbox_rows(), scene.slack_versions(), len(scene.receiver.requests))


def nothing_to_deliver(scene: Scene) -> None:
    done = scene.env.run("deliver")
    assert done.stdout.startswith("0 deliveries attempted"), done.stdout
