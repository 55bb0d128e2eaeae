"""What the Slack delivery tests share: the Slack emulator over HTTP on a simulated clock,
an in-memory `SlackMessageRefs`, and jobs built from rendered alerts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alerts.delivery import DeliveryJob, MessageRef, SlackContent
from alerts.messages import AlertFacts, render_alert
from alerts.model import EventType, TargetKind
from alerts.slack_delivery import SlackDeliverer
from integrations.slack import SlackClient
from integrations.slack.pacing import SlackPacer
from sandbox.slack import SlackEmulatorState, create_slack_app
from tests.fixtures.live_server import serving


class SimClock:
    """One monotonic time for the emulator's rate limits and the deliverer's pacer: sleeping
    moves it, so paced sends take no wall time and both sides agree on how much passed."""

    def __init__(self) -> None:
        self.now = 10_000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


class MemoryRefs:
    """SlackMessageRefs kept in a dict, as the SQL one keeps them in a table."""

    def __init__(self) -> None:
        self.refs: dict[tuple[int, str], MessageRef] = {}

    def find(self, instance_id: int, target: str) -> MessageRef | None:
        return self.refs.get((instance_id, target))

    def save(self, instance_id: int, target: str, ref: MessageRef) -> None:
        self.refs[(instance_id, target)] = ref


class WorkerDiedError(Exception):
    """Stands for the worker process dying between the post and the commit of its ref."""


class RefsThatCrashOnSave(MemoryRefs):
    """Fails the save of the listed instances once each, as a crash before the commit would."""

    def __init__(self, crash_on: set[int]) -> None:
        super().__init__()
        self.crash_on = set(crash_on)

    def save(self, instance_id: int, target: str, ref: MessageRef) -> None:
        if instance_id in self.crash_on:
            self.crash_on.discard(instance_id)
            raise WorkerDiedError(f"died before saving the ref of instance {instance_id}")
        super().save(instance_id, target, ref)


@dataclass
class Workspace:
    state: SlackEmulatorState
    client: SlackClient
    clock: SimClock

    def deliverer(self, refs: MemoryRefs, *, pacer: SlackPacer | None = None) -> SlackDeliverer:
        return SlackDeliverer(
            self.client,
            refs,
            pacer=pacer or SlackPacer(clock=self.clock),
            sleep=self.clock.sleep,
        )

    def channel_id(self, name: str) -> str:
        channel = self.state.channel(name)
        assert channel is not None
        return channel.id

    def user_id(self, email: str) -> str:
        user = self.state.user_by_email(email)
        assert user is not None
        return user.id

    def posts_refused(self, status: int) -> int:
        return sum(1 for call in self.state.calls if call.status == status)


@contextmanager
def slack_workspace(**options: object) -> Iterator[Workspace]:
    clock = SimClock()
    state = SlackEmulatorState(seed=5, clock=clock, **options)  # type: ignore[arg-type]
    with serving(create_slack_app(state)) as url:
        client = SlackClient(next(iter(state.tokens)), base_url=f"{url}/api/")
        yield Workspace(state, client, clock)


DUE = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def alert_job(
    instance_id: int,
    target: str,
    event_type: EventType = EventType.WARNING,
    *,
    kind: TargetKind = TargetKind.SLACK_CHANNEL,
    attempt: int = 1,
    in_thread: bool = False,
) -> DeliveryJob:
    facts = AlertFacts(
        event_type=event_type,
        instance_id=instance_id,
        rule_name="First touch",
        promise="respond within 4h (business time)",
        record_label=f"Lead {instance_id} (contact {instance_id})",
        record_url=f"https://app.hubspot.com/contacts/7/record/0-1/{instance_id}",
        owner_name="Grace Hopper",
        due_at=DUE,
        late_business=timedelta(hours=1) if event_type is not EventType.WARNING else None,
        late_wall=timedelta(hours=1) if event_type is not EventType.WARNING else None,
    )
    return DeliveryJob(
        delivery_ids=(instance_id,),
        key=f"{event_type.value}-{instance_id}/{kind.value}/{target}",
        target_kind=kind,
        target=target,
        attempt=attempt,
        slack=SlackContent(render_alert(facts), instance_id=instance_id, in_thread=in_thread),
    )


def metadata_keys(message: object) -> list[str]:
    """The idempotency keys a stored message carried, version by version."""
    keys = []
    for version in message.versions:  # type: ignore[attr-defined]
        if version.metadata is not None:
            keys.append(version.metadata["event_payload"]["key"])
    return keys
