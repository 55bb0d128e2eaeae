"""Life in the portal, one tick at a time.

Each tick: new leads arrive, some leads become MQLs and get an owner, reps whose answer is
due log a call or an email (only in business hours, each team at its own pace), some of the
leads they reach get a deal whose meeting the rep books later, deals move stages (now and then
backwards), and a few records are archived or merged. Everything goes
through the PortalWriter, so modified times, history and webhooks follow.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.portal.owners import Owner
from sandbox.portal.portal import Portal
from sandbox.portal.records import Record
from sandbox.portal.shapes import (
    CONTACTS,
    DEALS,
    LEAD_SOURCES,
    MEETING_PACE,
    MEETINGS,
    PIPELINES,
)
from sandbox.portal.timeline import iso_ms
from sandbox.portal.writer import PortalWriter

# Which engagement a team logs first.
FIRST_TOUCH_KIND = {"Inbound SDR": "calls", "Outbound SDR": "calls"}
PICK_ATTEMPTS = 30
# How far back base MQLs still waiting for a first touch are looked for, and how far back a
# replay of working hours may reach (a long weekend and some).
WAITING_LOOKBACK_MS = 30 * 86_400_000
REPLAY_LIMIT_MS = 10 * 86_400_000
# Share of first touches after which the rep opens a deal for the lead.
DEAL_SHARE = 0.25
# What `mutate` changes on each type: (property, values to pick from).
MUTABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    CONTACTS: ("hs_lead_status", ("OPEN", "IN_PROGRESS", "CONNECTED", "BAD_TIMING")),
    DEALS: ("amount", tuple(str(hundreds * 100) for hundreds in range(10, 500, 7))),
    "engagements": ("hubspot_owner_id", ()),
}


@dataclass
class TickReport:
    at_ms: int
    created: int = 0
    qualified: int = 0
    touches: int = 0
    deals: int = 0
    meetings: int = 0
    deal_moves: int = 0
    archived: int = 0
    merged: int = 0
    mutated: int = 0


@dataclass(frozen=True)
class PendingTouch:
    """An MQL waiting for its owner's first call or email."""

    contact_id: int
    owner: Owner
    due_ms: int


@dataclass(frozen=True)
class PendingMeeting:
    """A new deal waiting for the meeting its owner books."""

    deal_id: int
    contact_id: int
    owner: Owner
    due_ms: int


class ActivitySimulator:
    def __init__(self, portal: Portal, writer: PortalWriter, seed: int) -> None:
        self.portal = portal
        self.writer = writer
        self.rng = random.Random(seed * 7919 + 17)
        self.pending: list[PendingTouch] = []
        self.meetings: list[PendingMeeting] = []
        self.fresh_leads: list[int] = []
        self.active_owners = [o for o in portal.owners if not o.archived]
        self._adopted = False
        self._lock = threading.RLock()

    def tick(self, at_ms: int | None = None) -> TickReport:
        with self._lock:  # the ticker thread and the control API share the simulator
            return self._tick(at_ms if at_ms is not None else self.portal.now_ms())

    def work_lead(self, contact_id: int, at_ms: int | None = None) -> str | None:
        """The lead's owner works it now, whenever its first touch was due: what a rep does
        when a breach alert reaches them. The owner's id, or None when the lead is not
        waiting for a first touch."""
        with self._lock:
            self._adopt_waiting_leads()
            touch = next((p for p in self.pending if p.contact_id == contact_id), None)
            if touch is None:
                return None
            self.pending.remove(touch)
            self._first_touch(touch, at_ms if at_ms is not None else self.portal.now_ms())
            return touch.owner.id

    def _tick(self, now: int) -> TickReport:
        report = TickReport(now)
        scale = max(1, self.portal.base_count(CONTACTS) // 5000)
        for _ in range(scale + self.rng.randrange(0, 3)):
            self._new_lead(now)
            report.created += 1
        for _ in range(min(len(self.fresh_leads), scale + self.rng.randrange(0, 2))):
            report.qualified += self._qualify(self.fresh_leads.pop(0), now)
        self._adopt_waiting_leads()
        if self.portal.generator.hours.is_business_time(now):
            report.touches, report.deals = self._touch_due(now)
            report.meetings = self._book_due(now)
        for _ in range(self.rng.randrange(0, scale + 2)):
            report.deal_moves += self._move_deal(now)
        if self.rng.random() < 0.3:
            report.archived += self._archive_one(now)
        if self.rng.random() < 0.2:
            report.merged += self._merge_two(now)
        return report

    def replay_working_hours(self, hours: float, until_ms: int, step_ms: int) -> int:
        """Ticks at every `step_ms` of the last `hours` of working time before `until_ms`
        (nights and days off skipped), oldest first, as if the portal had been busy then: the
        demo starts in the middle of a working day instead of on an empty morning. Returns
        the number of ticks."""
        working = self.portal.generator.hours
        moments: list[int] = []
        moment = until_ms - step_ms
        wanted = int(hours * 3_600_000 // step_ms)
        while len(moments) < wanted and moment > until_ms - REPLAY_LIMIT_MS:
            if working.is_business_time(moment):
                moments.append(moment)
            moment -= step_ms
        for moment in reversed(moments):
            self.tick(moment)
        return len(moments)

    def _adopt_waiting_leads(self) -> None:
        """Once: the base MQLs whose owner's first touch was not due at the anchor join the
        pending touches, so the reps work them when due, as they work new ones."""
        if self._adopted:
            return
        self._adopted = True
        generator = self.portal.generator
        since = generator.anchor_ms - WAITING_LOOKBACK_MS
        for index, owner, due in generator.waiting_first_touches(since):
            if not owner.archived:
                contact_id = generator.record_id(CONTACTS, index)
                self.pending.append(PendingTouch(contact_id, owner, due))

    def mutate(self, object_type: str, count: int, at_ms: int | None = None) -> list[int]:
        """Changes `count` active records now: a lead status, a deal amount, an activity owner."""
        changed: list[int] = []
        for _ in range(count):
            record = self._pick(object_type, lambda r: True)
            if record is None:
                break
            name, choices = MUTABLE.get(object_type, MUTABLE["engagements"])
            if name == "hubspot_owner_id":
                choices = tuple(o.id for o in self.active_owners)
            current = record.properties.get(name)
            value = self.rng.choice([c for c in choices if c != current] or list(choices))
            self.writer.update(object_type, record.id, {name: value}, at_ms=at_ms)
            changed.append(record.id)
        return changed

    # --- the steps ------------------------------------------------------------------------------

    def _owner(self) -> Owner:
        return self.rng.choice(self.active_owners)

    def _pick(self, object_type: str, wanted: Callable[[Record], bool]) -> Record | None:
        total = self.portal.count(object_type)
        for _ in range(PICK_ATTEMPTS):
            index = self.rng.randrange(total) if total else 0
            record = self.portal.get(object_type, self.portal.record_id(object_type, index))
            if record is not None and record.active and wanted(record):
                return record
        return None

    def _new_lead(self, now: int) -> None:
        number = self.portal.count(CONTACTS)
        source = self.rng.choices([name for name, _ in LEAD_SOURCES], [w for _, w in LEAD_SOURCES])[
            0
        ]
        record = self.writer.create(
            CONTACTS,
            {
                "email": f"new.lead.{number}@example-buyer.com",
                "firstname": "New",
                "lastname": f"Lead {number}",
                "lifecyclestage": "lead",
                "hs_analytics_source": source,
            },
            at_ms=now,
        )
        self.fresh_leads.append(record.id)

    def _qualify(self, contact_id: int, now: int) -> int:
        owner = self._owner()
        self.writer.update(
            CONTACTS,
            contact_id,
            {"lifecyclestage": "marketingqualifiedlead"},
            "AUTOMATION_PLATFORM",
            at_ms=now,
        )
        self.writer.update(
            CONTACTS,
            contact_id,
            {"hubspot_owner_id": owner.id, "hs_lead_status": "NEW"},
            "AUTOMATION_PLATFORM",
            at_ms=now,
        )
        due = self.portal.generator.hours.add_business_minutes(now, self._delay_minutes(owner))
        self.pending.append(PendingTouch(contact_id, owner, due))
        return 1

    def _delay_minutes(self, owner: Owner) -> int:
        """A rep's answer time in business minutes: the team's habit, now and then far slower."""
        team = owner.team
        slow = self.rng.random() < team.slow_share
        return int(self.rng.expovariate(1 / team.median_response_minutes) * (8 if slow else 1))

    def _touch_due(self, now: int) -> tuple[int, int]:
        """The first touches that are due; returns (touches, deals opened)."""
        due = [p for p in self.pending if p.due_ms <= now]
        self.pending = [p for p in self.pending if p.due_ms > now]
        opened = sum(self._first_touch(touch, now) for touch in due)
        return len(due), opened

    def _first_touch(self, touch: PendingTouch, now: int) -> bool:
        """The owner's call or email to the lead; True when a deal was opened for it."""
        kind = FIRST_TOUCH_KIND.get(touch.owner.team.name, "emails")
        fields = (
            {
                "hs_call_status": "COMPLETED",
                "hs_call_direction": "OUTBOUND",
                "hs_call_title": "Intro call",
            }
            if kind == "calls"
            else {
                "hs_email_direction": "EMAIL",
                "hs_email_subject": "Hello",
                "hs_email_status": "SENT",
            }
        )
        self.writer.create(
            kind,
            {
                "hs_timestamp": iso_ms(now),
                "hubspot_owner_id": touch.owner.id,
                "hs_created_by_user_id": str(touch.owner.user_id),
                **fields,
            },
            links={CONTACTS: [touch.contact_id]},
            source="CRM_UI",
            at_ms=now,
        )
        contact = self.portal.get(CONTACTS, touch.contact_id)
        if contact is None or not contact.active:
            return False
        self.writer.update(
            CONTACTS,
            touch.contact_id,
            {"hs_lead_status": "ATTEMPTED_TO_CONTACT", "notes_last_contacted": iso_ms(now)},
            "CRM_UI",
            touch.owner.user_id,
            at_ms=now,
        )
        if self.rng.random() < DEAL_SHARE:
            self._open_deal(touch.contact_id, touch.owner, now)
            return True
        return False

    def _open_deal(self, contact_id: int, owner: Owner, now: int) -> None:
        deal = self.writer.create(
            DEALS,
            {
                "dealname": f"New business {contact_id}",
                "pipeline": PIPELINES[0].id,
                "dealstage": PIPELINES[0].stages[0].id,
                "amount": str(self.rng.randrange(10, 500) * 100),
                "hubspot_owner_id": owner.id,
            },
            links={CONTACTS: [contact_id]},
            source="CRM_UI",
            at_ms=now,
        )
        hours = self.portal.generator.hours
        due = hours.add_business_minutes(now, self._delay_minutes(owner) * MEETING_PACE)
        self.meetings.append(PendingMeeting(deal.id, contact_id, owner, due))

    def _book_due(self, now: int) -> int:
        due = [m for m in self.meetings if m.due_ms <= now]
        self.meetings = [m for m in self.meetings if m.due_ms > now]
        for meeting in due:
            self.writer.create(
                MEETINGS,
                {
                    "hs_timestamp": iso_ms(now),
                    "hubspot_owner_id": meeting.owner.id,
                    "hs_created_by_user_id": str(meeting.owner.user_id),
                    "hs_meeting_title": "Discovery meeting",
                    "hs_meeting_outcome": "SCHEDULED",
                },
                links={DEALS: [meeting.deal_id], CONTACTS: [meeting.contact_id]},
                source="CRM_UI",
                at_ms=now,
            )
        return len(due)

    def _move_deal(self, now: int) -> int:
        deal = self._pick(DEALS, lambda r: not _is_closed(r))
        if deal is None:
            return 0
        pipeline = next(p for p in PIPELINES if p.id == deal.properties.get("pipeline"))
        ids = [s.id for s in pipeline.stages]
        position = ids.index(deal.properties["dealstage"] or ids[0])
        roll = self.rng.random()
        if roll < 0.1 and position > 0:
            target = ids[position - 1]  # moved backwards by hand
        elif roll < 0.3:
            target = self.rng.choice([s.id for s in pipeline.stages if s.is_closed])
        else:
            target = ids[min(position + 1, len(ids) - 3)]
        self.writer.update(DEALS, deal.id, {"dealstage": target}, "CRM_UI", at_ms=now)
        return 1

    def _archive_one(self, now: int) -> int:
        contact = self._pick(CONTACTS, lambda r: True)
        if contact is None:
            return 0
        self.writer.archive(CONTACTS, contact.id, at_ms=now)
        return 1

    def _merge_two(self, now: int) -> int:
        primary = self._pick(CONTACTS, lambda r: True)
        loser = self._pick(CONTACTS, lambda r: primary is not None and r.id != primary.id)
        if primary is None or loser is None:
            return 0
        self.writer.merge(CONTACTS, primary.id, loser.id, at_ms=now)
        return 1


def _is_closed(deal: Record) -> bool:
    stage = deal.properties.get("dealstage")
    return any(s.id == stage and s.is_closed for p in PIPELINES for s in p.stages)
