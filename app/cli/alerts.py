"""`slaguard deliver` (deliver what is due in the outbox once, then exit) and
`slaguard alerts status|replay|preview|silence|silences|unsilence|test`."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta

import typer

from alerts.outbox.config import alerts_in_force
from alerts.outbox.leases import DEFAULT_LEASE
from alerts.outbox.post_jobs import post_due
from alerts.outbox.preview import preview
from alerts.outbox.probe import find_route, probe_route
from alerts.outbox.runtime import delivery_worker
from alerts.outbox.silences import (
    SilenceError,
    SilenceSpec,
    create_silence,
    end_silence,
    list_silences,
    parse_duration,
    parse_record,
)
from alerts.outbox.status import outbox_status, replay
from app.cli.common import console, store_from_env
from app.errors import ConfigError
from app.models import AlertSilence
from app.store.db import create_session_factory, session_scope

app = typer.Typer(
    help="The alert outbox: status, replay of dead letters, preview of an event's alerts.",
    no_args_is_help=True,
)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


@app.command()
def status() -> None:
    """Outbox depth, oldest pending age, dead letters, disabled endpoints."""
    _, engine = store_from_env()
    now = datetime.now(UTC)
    with session_scope(create_session_factory(engine)) as session:
        found = outbox_status(session, now)
    engine.dispose()
    console.print(f"pending: {found.depth}", highlight=False)
    console.print(f"oldest pending: {_age(found.oldest_pending_age(now))}", highlight=False)
    console.print(f"dead letters: {found.dead}", highlight=False)
    console.print(f"sent to a fallback: {found.fallbacks}", highlight=False)
    suppressed = sum(
        n for (_, state), n in found.by_kind_and_state.items() if state == "suppressed"
    )
    console.print(f"suppressed by silences: {suppressed}", highlight=False)
    for (kind, state), count in sorted(found.by_kind_and_state.items()):
        console.print(f"  {kind} {state}: {count}", highlight=False)
    for name, reason in sorted(found.disabled.items()):
        console.print(f"disabled: {name} ({reason})", highlight=False)


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since expects an ISO time such as 2026-12-01T09:00, got {text!r}"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@app.command("replay")
def replay_command(
    delivery_id: int | None = typer.Argument(None, help="The dead delivery to send again."),
    since: str | None = typer.Option(
        None, "--since", help="Every dead letter created since (ISO time, UTC unless given)."
    ),
) -> None:
    """Put dead letters back in the queue with a fresh retry schedule."""
    if (delivery_id is None) == (since is None):
        raise ConfigError("give either a delivery id or --since TIME")
    _, engine = store_from_env()
    with session_scope(create_session_factory(engine)) as session:
        count = replay(session, datetime.now(UTC), delivery_id=delivery_id, since=_since(since))
    engine.dispose()
    console.print(f"{count} dead letters queued again", highlight=False)


@app.command("preview")
def preview_command(event_id: int = typer.Argument(..., help="An id from sla_events.")) -> None:
    """Who an SLA event goes to and the message or payload each gets; nothing is sent."""
    _, engine = store_from_env()
    with session_scope(create_session_factory(engine)) as session:
        config = alerts_in_force(session)
        if config is None:
            raise ConfigError("the rules in force have no alerts: section")
        try:
            shown = preview(session, event_id, config, datetime.now(UTC))
        except LookupError as missing:
            raise ConfigError(str(missing)) from None
    engine.dispose()
    if not shown:
        console.print(f"no route takes SLA event {event_id}", highlight=False)
    for item in shown:
        console.print(f"route {item.route} -> {item.target}", highlight=False)
        console.print(item.body, highlight=False, markup=False)


def _until(duration: str | None, until: str | None, now: datetime) -> datetime:
    if (duration is None) == (until is None):
        raise ConfigError("give either --for DURATION (2h, 30m, 1d) or --until TIME")
    try:
        if duration is not None:
            return now + parse_duration(duration)
    except SilenceError as error:
        raise ConfigError(str(error)) from None
    when = _since(until)
    assert when is not None
    return when


@app.command("silence")
def silence_command(
    reason: str = typer.Option(..., "--reason", help="Why (shown with every muted alert)."),
    rule: str | None = typer.Option(None, "--rule", help="Mute this rule's alerts."),
    owner: str | None = typer.Option(None, "--owner", help="Mute alerts of this HubSpot owner."),
    record: str | None = typer.Option(None, "--record", help="Mute one record: TYPE:ID."),
    instance: int | None = typer.Option(None, "--instance", help="Mute one SLA instance."),
    duration: str | None = typer.Option(None, "--for", help="How long: 30m, 2h, 1d, 1h30m."),
    until: str | None = typer.Option(None, "--until", help="Until (ISO time, UTC unless given)."),
) -> None:
    """Mute the alerts the options select (all must hold) from now on. What it mutes is kept
    in the outbox as suppressed, naming the silence."""
    now = datetime.now(UTC)
    try:
        spec = SilenceSpec(
            reason=reason,
            starts_at=now,
            ends_at=_until(duration, until, now),
            rule_id=rule,
            owner_id=owner,
            record=parse_record(record) if record else None,
            instance_id=instance,
        )
        _, engine = store_from_env()
        with session_scope(create_session_factory(engine)) as session:
            silence_id = create_silence(session, spec, _who(), now)
        engine.dispose()
    except SilenceError as error:
        raise ConfigError(str(error)) from None
    console.print(f"silence {silence_id} until {spec.ends_at.isoformat()}", highlight=False)


def _who() -> str:
    return f"cli:{getpass.getuser()}"


@app.command("silences")
def silences_command(
    show_all: bool = typer.Option(False, "--all", help="Ended and expired silences too."),
) -> None:
    """The silences in force (or all of them)."""
    _, engine = store_from_env()
    now = datetime.now(UTC)
    with session_scope(create_session_factory(engine)) as session:
        rows = list_silences(session, now, active_only=not show_all)
        lines = [_silence_line(row, now) for row in rows]
    engine.dispose()
    if not lines:
        console.print("no silences", highlight=False)
    for line in lines:
        console.print(line, highlight=False, markup=False)


def _silence_line(row: AlertSilence, now: datetime) -> str:
    what = [
        f"{label}={value}"
        for label, value in (
            ("rule", row.rule_id),
            ("owner", row.owner_id),
            ("record", f"{row.object_type}:{row.object_id}" if row.object_type else None),
            ("instance", row.instance_id),
            ("match", row.matcher),
        )
        if value is not None
    ]
    end = row.ended_at or row.ends_at
    state = "active" if row.ended_at is None and row.ends_at > now else "over"
    return (
        f"{row.id}  {state}  until {end.isoformat(timespec='minutes')}  {' '.join(what)}"
        f"  by {row.created_by}: {row.reason}"
    )


@app.command("unsilence")
def unsilence_command(silence_id: int = typer.Argument(..., help="The silence to end.")) -> None:
    """End a silence now."""
    _, engine = store_from_env()
    with session_scope(create_session_factory(engine)) as session:
        found = end_silence(session, silence_id, datetime.now(UTC)) is not None
    engine.dispose()
    if not found:
        raise ConfigError(f"no silence {silence_id}")
    console.print(f"silence {silence_id} ended", highlight=False)


@app.command("test")
def test_command(
    route: str = typer.Argument(..., help="A route's name in the alerts: section."),
) -> None:
    """Send a test message to each receiver of ROUTE now, through the outbox's deliverers
    (owners and managers are skipped: the route's fallback is tested for them)."""
    settings, engine = store_from_env()
    factory = create_session_factory(engine)
    with factory() as session:
        config = alerts_in_force(session)
    if config is None:
        raise ConfigError("the rules in force have no alerts: section")
    try:
        found = find_route(config, route)
    except LookupError as missing:
        raise ConfigError(str(missing)) from None
    with delivery_worker(settings, factory) as worker:
        results = probe_route(found, config, worker.deliverers, datetime.now(UTC))
    engine.dispose()
    for result in results:
        detail = f" ({result.detail})" if result.detail else ""
        console.print(f"{result.receiver}: {result.outcome}{detail}", highlight=False, markup=False)
    if any(result.outcome not in ("delivered", "skipped") for result in results):
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    cli.add_typer(app, name="alerts")

    @cli.command()
    def deliver(
        lease: float = typer.Option(
            DEFAULT_LEASE.total_seconds(),
            "--lease",
            min=1,
            help="Seconds a claimed delivery stays this worker's; after that (the worker "
            "died) another takes it. Longer than the slowest receiver's answer.",
        ),
    ) -> None:
        """Deliver what is due in the alert outbox once, then exit (alerts are queued by the
        evaluation, in the transaction of the SLA events that cause them; the scorecard and
        the morning digests, when due, here first)."""
        settings, engine = store_from_env()
        factory = create_session_factory(engine)
        queued = post_due(factory, datetime.now(UTC))
        if queued:
            console.print(f"{queued} scheduled posts queued (scorecard, digests)")
        with delivery_worker(settings, factory) as worker:
            worker.lease = timedelta(seconds=lease)
            report = worker.deliver_due()
        engine.dispose()
        outcomes = ", ".join(f"{n} {state}" for state, n in sorted(report.outcomes.items()))
        console.print(
            f"{report.claimed} deliveries attempted{': ' + outcomes if outcomes else ''}",
            highlight=False,
        )
