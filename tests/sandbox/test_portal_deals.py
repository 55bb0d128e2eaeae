"""Deals in the synthetic portal get their meetings, as `new-deal-meeting` in sla.example.yaml
expects: one per base deal, booked by its owner after the deal was created, and new deals
opened by the simulated reps get theirs within their team's pace."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sandbox.portal import Portal, PortalConfig
from sandbox.portal.activity import ActivitySimulator
from sandbox.portal.writer import PortalWriter
from tests.sandbox.test_portal_activity import ANCHOR_MS, _local_ms

ZONE = ZoneInfo("America/New_York")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _meetings_after_creation(portal: Portal, deal_ids: list[int]) -> dict[int, list[int]]:
    """Each deal's meetings (their times) logged at or after the deal's creation."""
    found: dict[int, list[int]] = {}
    for deal_id in deal_ids:
        deal = portal.truth_of("deals", portal.get("deals", deal_id))
        meetings = [portal.get("meetings", m) for m in deal.associations["meetings"]]
        found[deal_id] = [
            _ms(m.properties["hs_timestamp"])
            for m in meetings
            if m is not None and _ms(m.properties["hs_timestamp"]) >= deal.created_ms
        ]
    return found


def test_base_deals_have_a_meeting_after_they_were_created() -> None:
    portal = Portal(PortalConfig(contacts=2000, anchor_ms=ANCHOR_MS))
    deals = [t.id for t in portal.truth("deals") if not t.archived]
    met = _meetings_after_creation(portal, deals)
    with_meeting = [d for d, times in met.items() if times]
    assert len(with_meeting) >= 0.8 * len(deals)
    for times in met.values():  # logged in business hours, like every touch
        for moment in times:
            local = datetime.fromtimestamp(moment / 1000, tz=ZONE)
            assert local.weekday() < 5 and 9 <= local.hour < 18
    # a meeting is logged on the deal's contact too
    deal = portal.truth_of("deals", portal.get("deals", with_meeting[0]))
    meeting = portal.truth_of("meetings", portal.get("meetings", deal.associations["meetings"][0]))
    assert meeting.associations["contacts"] == deal.associations["contacts"]


def test_reps_open_deals_and_book_their_meetings() -> None:
    portal = Portal(PortalConfig(contacts=300, anchor_ms=ANCHOR_MS))
    simulator = ActivitySimulator(portal, PortalWriter(portal), seed=1)
    deals_before = portal.count("deals")
    start = _local_ms(1, 9, weekday=0)
    for minute in range(0, 5 * 24 * 60, 10):  # a working week of ticks every 10 minutes
        simulator.tick(start + minute * 60_000)
    new = [portal.record_id("deals", i) for i in range(deals_before, portal.count("deals"))]
    assert len(new) >= 5
    met = _meetings_after_creation(portal, new)
    assert sum(1 for times in met.values() if times) >= len(new) // 2
