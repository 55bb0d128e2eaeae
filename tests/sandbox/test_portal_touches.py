"""Reps touch a lead only once it is theirs: after its hand-over (MQL with an owner), in their
working hours, whichever working week the portal lives in; a lead not yet touched at the
anchor is worked by the live activity when due."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sandbox.portal import Portal, PortalConfig
from sandbox.portal.activity import ActivitySimulator
from sandbox.portal.calendar import WorkingHours
from sandbox.portal.generator import FIRST_TOUCH_TYPES
from sandbox.portal.writer import PortalWriter

ANCHOR_MS = 1_767_000_000_000  # fixed so the portal is the same on every run
SATURDAY_TO_WEDNESDAY = (5, 6, 0, 1, 2)


def _portal(**overrides: object) -> Portal:
    config = {"contacts": 600, "anchor_ms": ANCHOR_MS, **overrides}
    return Portal(PortalConfig(**config))  # type: ignore[arg-type]


def _ms(text: str | None) -> int:
    assert text is not None
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_no_owner_touches_an_mql_before_its_hand_over_or_after_the_anchor() -> None:
    portal = _portal()
    generator = portal.generator
    checked = 0
    for kind in FIRST_TOUCH_TYPES:
        for index in range(portal.count(kind)):
            engagement = portal.record_at(kind, index)
            when = _ms(engagement.properties["hs_timestamp"])
            assert when < ANCHOR_MS
            contact = portal.record_at("contacts", generator.contact_of_engagement(kind, index))
            owners = contact.history.get("hubspot_owner_id") or []
            if owners and engagement.properties.get("hubspot_owner_id") == owners[0].value:
                assert when >= owners[0].timestamp_ms, (contact.id, kind, engagement.id)
                checked += 1
    assert checked > 100


def test_owner_touches_fall_in_the_portals_own_working_week() -> None:
    tehran = WorkingHours("Asia/Tehran", SATURDAY_TO_WEDNESDAY, 8, 17)
    portal = _portal(
        time_zone="Asia/Tehran", work_days=SATURDAY_TO_WEDNESDAY, open_hour=8, close_hour=17
    )
    weekdays = set()
    for call in portal.truth("calls"):
        if call.properties.get("hubspot_owner_id") is None:
            continue  # the buyer's own call, logged by no one: any time
        when = _ms(call.properties["hs_timestamp"])
        assert tehran.is_business_time(when), call.properties["hs_timestamp"]
        weekdays.add(datetime.fromtimestamp(when / 1000, ZoneInfo("Asia/Tehran")).weekday())
    assert weekdays == set(SATURDAY_TO_WEDNESDAY)


def test_business_minutes_skip_the_days_off_of_a_saturday_to_wednesday_week() -> None:
    tehran = WorkingHours("Asia/Tehran", SATURDAY_TO_WEDNESDAY, 8, 17)
    zone = ZoneInfo("Asia/Tehran")
    wednesday_afternoon = datetime(2026, 11, 11, 16, 30, tzinfo=zone)
    later = tehran.add_business_minutes(int(wednesday_afternoon.timestamp() * 1000), 60)
    # 30 minutes on Wednesday, Thursday and Friday off, 30 minutes on Saturday.
    assert datetime.fromtimestamp(later / 1000, zone) == datetime(2026, 11, 14, 8, 30, tzinfo=zone)


def test_leads_waiting_at_the_anchor_are_worked_by_their_owner_when_due() -> None:
    portal = _portal()
    waiting = portal.generator.waiting_first_touches(ANCHOR_MS - 30 * 86_400_000)
    assert waiting
    index, owner, due = max(waiting, key=lambda lead: lead[2])
    contact_id = portal.record_id("contacts", index)
    simulator = ActivitySimulator(portal, PortalWriter(portal), seed=1)
    hours = portal.generator.hours
    simulator.tick(ANCHOR_MS + 60_000)
    assert any(p.contact_id == contact_id for p in simulator.pending) != owner.archived
    if owner.archived:
        return
    simulator.tick(hours.last_business_minute_before(due + 7 * 86_400_000))
    touches = [
        portal.get(kind, engagement)
        for kind in FIRST_TOUCH_TYPES
        for engagement in portal.associated_ids("contacts", contact_id, kind)
    ]
    assert any(
        t is not None
        and t.properties.get("hubspot_owner_id") == owner.id
        and _ms(t.properties["hs_timestamp"]) >= due
        for t in touches
    )


def test_a_replay_ticks_only_in_working_time_before_the_given_moment() -> None:
    portal = _portal(contacts=300)
    simulator = ActivitySimulator(portal, PortalWriter(portal), seed=1)
    # A Sunday at 11:00 in New York: the replayed hours are Friday afternoon's.
    sunday = int(datetime(2026, 11, 8, 11, 0, tzinfo=ZoneInfo("America/New_York")).timestamp())
    created_before = portal.count("contacts")
    ticks = simulator.replay_working_hours(3.0, sunday * 1000, 120_000)
    assert ticks == 90
    new = [portal.record_at("contacts", i) for i in range(created_before, portal.count("contacts"))]
    assert new and all(portal.generator.hours.is_business_time(r.created_ms) for r in new)
    assert all(r.created_ms < sunday * 1000 for r in new)


def test_a_rep_works_a_waiting_lead_on_demand_once() -> None:
    portal = _portal(contacts=300)
    simulator = ActivitySimulator(portal, PortalWriter(portal), seed=1)
    night = int(datetime(2026, 1, 7, 2, 0, tzinfo=ZoneInfo("America/New_York")).timestamp())
    while not simulator.pending:
        simulator.tick(night * 1000)
    lead = simulator.pending[-1]
    at = night * 1000 + 60_000
    assert simulator.work_lead(lead.contact_id, at_ms=at) == lead.owner.id
    calls_and_emails = [
        portal.get(kind, engagement)
        for kind in FIRST_TOUCH_TYPES
        for engagement in portal.associated_ids("contacts", lead.contact_id, kind)
    ]
    assert [
        (e.properties["hubspot_owner_id"], _ms(e.properties["hs_timestamp"]))
        for e in calls_and_emails
        if e is not None and e.properties.get("hubspot_owner_id") is not None
    ] == [(lead.owner.id, at)]
    assert simulator.work_lead(lead.contact_id, at_ms=at) is None
