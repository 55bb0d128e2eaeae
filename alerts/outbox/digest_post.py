"""The morning digests: for each rep whose working day has begun (in the rep's own calendar)
and who is at work now, one DM listing their open clocks that fall due before the day ends;
one per rep and local day.

Like the scorecard, planning reads and `scorecard_post.record_posts` writes, the unique post
row deciding. A rep with nothing due gets a post row without a message: decided for the day,
nothing sent. The DM's Slack user is found by the outbox at delivery time, from the rep's
email, like an alert's owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.digest import DigestSettings, DueLead, WorkingDay, render_morning_digest, working_day
from alerts.outbox.config import alerts_in_force
from alerts.outbox.posts import (
    DIGEST,
    PostPlan,
    display_name,
    owners,
    portals,
    posts_in,
    running_due_before,
)
from alerts.outbox.scorecard_post import Planned
from alerts.payload import record_url
from app.evaluation.rules_store import rules_in_force
from app.models import Owner, Portal, SlaInstance
from app.sla.calendar_book import CalendarBook
from app.sla.schema import RulesFile


def plan_digests(session: Session, now: datetime) -> list[Planned]:
    config = alerts_in_force(session)
    rules = rules_in_force(session)
    if config is None or config.digest is None or rules is None:
        return []
    return [
        item
        for portal in portals(session)
        for item in _portal_digests(session, portal, rules, config.digest, now)
    ]


def _portal_digests(
    session: Session, portal: Portal, rules: RulesFile, settings: DigestSettings, now: datetime
) -> Iterator[Planned]:
    people = owners(session, portal.id)
    teams = {o.id: tuple(str(t["id"]) for t in o.teams or [] if "id" in t) for o in people}
    book = CalendarBook(rules, portal.time_zone, teams)
    waiting: list[tuple[Owner, WorkingDay, str]] = []
    decided: dict[str, set[str]] = {}
    for owner in people:
        calendar = book.calendar(book.owner_calendar_name(owner.id))
        day = working_day(calendar, now)
        # Planned within working hours only: a DM planned after hours would be held until
        # tomorrow morning, when "due today" is no longer true.
        if day is None or not calendar.is_counting(now):
            continue
        if day.period not in decided:
            decided[day.period] = posts_in(session, portal.id, DIGEST, day.period)
        if owner.id not in decided[day.period]:
            waiting.append((owner, day, calendar.time_zone))
    if not waiting:
        return
    latest_end = max(day.ends_at for _, day, _ in waiting)
    due = running_due_before(session, portal.id, [o.id for o, _, _ in waiting], latest_end)
    titles = {rule.id: rule.title for rule in rules.rules}
    for owner, day, zone in waiting:
        leads = [
            _lead(instance, titles, portal, now)
            for instance in due
            if instance.owner_id == owner.id
            and instance.due_at is not None
            and instance.due_at < day.ends_at
            and settings.covers(instance.rule_id)
        ]
        message = render_morning_digest(display_name(owner), day, leads, zone) if leads else None
        plan = PostPlan(portal.id, DIGEST, day.period, owner.id, f"owner:{owner.id}", None, None)
        yield Planned(plan, message)


def _lead(instance: SlaInstance, titles: dict[str, str], portal: Portal, now: datetime) -> DueLead:
    assert instance.due_at is not None
    return DueLead(
        rule_name=titles.get(instance.rule_id, instance.rule_id),
        record_label=f"{instance.object_type} {instance.object_id}",
        record_url=record_url(
            portal.ui_domain, portal.id, instance.object_type, instance.object_id
        ),
        due_at=instance.due_at,
        overdue=instance.due_at <= now,
    )
