"""Derives every base record from (seed, object type, index), on demand.

Nothing here is stored: asking twice for the same index gives equal records. Patterns that
must be cheap to test without deriving a record (archived, merged away) are arithmetic on the
index, so listing and counting can skip them quickly.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sandbox.portal.owners import FIRST_NAMES, LAST_NAMES, Owner, build_owners
from sandbox.portal.records import HistoryEntry, PortalConfig, Record
from sandbox.portal.shapes import (
    CONTACTS,
    CONTACTS_PER_DEAL,
    CREATED_PROPERTY,
    CUSTOM_STAGE_ID,
    DEAL_SLOT,
    DEALS,
    ENGAGEMENT_TYPES,
    ENGAGEMENTS_PER_CONTACT,
    ID_OFFSETS,
    LEAD_SOURCES,
    LIFECYCLE_STAGES,
    MEETING_PACE,
    MEETINGS,
    MODIFIED_PROPERTY,
    PIPELINES,
)
from sandbox.portal.timeline import (
    Draws,
    SameTimestampBlock,
    Timeline,
    iso_ms,
    record_hash,
    unit,
)

DAY_MS = 86_400_000
# Index remainders (mod 100) of base records with a trap. Only contacts merge.
ARCHIVED_REMAINDER = 13
MERGED_REMAINDER = 7  # merged into the record just before it
SURVIVOR_REMAINDER = 6
BACKWARDS_REMAINDER = 21  # a stage moved backwards by hand
MQL = "marketingqualifiedlead"
# The engagements a rep's first touch on a new MQL is.
FIRST_TOUCH_TYPES = ("calls", "emails")
# An engagement the buyer started: how a not-yet-due touch is kept (see Generator._engagement).
INBOUND_FIELDS: dict[str, dict[str, str | None]] = {
    "calls": {"hs_call_direction": "INBOUND", "hs_created_by_user_id": None},
    "emails": {"hs_email_direction": "INCOMING_EMAIL", "hs_created_by_user_id": None},
}


# What a contact derived with detail=False holds (the cheap part of a contact).
BASIC_CONTACT_PROPERTIES = frozenset(
    {
        "hs_object_id", "createdate", "lastmodifieddate", "firstname", "lastname", "email",
        "hs_analytics_source", "hs_merged_object_ids",
    }
)  # fmt: skip


def needs_detail(object_type: str, properties: Iterable[str], with_history: Iterable[str]) -> bool:
    """Whether an answer showing these properties needs the fully derived record."""
    if object_type != CONTACTS or any(True for _ in with_history):
        return True
    return not BASIC_CONTACT_PROPERTIES.issuperset(properties)


def base_counts(contacts: int) -> dict[str, int]:
    counts = {
        CONTACTS: contacts,
        DEALS: max(0, (contacts - DEAL_SLOT - 1) // CONTACTS_PER_DEAL + 1),
    }
    for kind in ENGAGEMENT_TYPES:
        counts[kind] = int(contacts * ENGAGEMENTS_PER_CONTACT[kind])
    return counts


def is_base_archived(object_type: str, index: int) -> bool:
    return index % 100 == ARCHIVED_REMAINDER


def is_base_merged(object_type: str, index: int) -> bool:
    return object_type == CONTACTS and index % 100 == MERGED_REMAINDER


def excluded_remainders(object_type: str) -> tuple[int, ...]:
    """Remainders mod 100 of base records that are not active (not listed, not searchable)."""
    if object_type == CONTACTS:
        return (ARCHIVED_REMAINDER, MERGED_REMAINDER)
    return (ARCHIVED_REMAINDER,)


def _pick_weighted(rng: Draws, choices: tuple[tuple[str, float], ...]) -> str:
    names, bounds = _cumulative(choices)
    return names[bisect.bisect_right(bounds, rng.random() * bounds[-1])]


@functools.cache
def _cumulative(choices: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    names = tuple(name for name, _ in choices)
    return names, list(itertools.accumulate(weight for _, weight in choices))


# Property names set when a contact enters a lifecycle stage, built once.
STAGE_DATE_NAMES: dict[str, tuple[str, str]] = {
    stage: (f"hs_lifecyclestage_{stage}_date", f"hs_v2_date_entered_{stage}")
    for stage in (*LIFECYCLE_STAGES, CUSTOM_STAGE_ID)
}


class Generator:
    """The deterministic content of one portal's base records."""

    def __init__(self, config: PortalConfig, anchor_ms: int) -> None:
        self.config = config
        self.seed = config.seed
        self.zone = ZoneInfo(config.time_zone)
        self.hours = config.working_hours
        self.anchor_ms = anchor_ms
        self.counts = base_counts(config.contacts)
        start = anchor_ms - config.history_days * DAY_MS
        end = anchor_ms - 3_600_000
        self.timelines: dict[str, Timeline] = {}
        for kind, count in self.counts.items():
            block = None
            if kind == CONTACTS and count > config.same_timestamp_block + 1000:
                first = (count - config.same_timestamp_block) // 2
                block = SameTimestampBlock(first, first + config.same_timestamp_block)
            self.timelines[kind] = Timeline(config.seed, kind, count, start, end, block)
        self.owners: tuple[Owner, ...] = build_owners(config.seed, config.contacts, start, end)

    # --- ids -------------------------------------------------------------------------------

    @staticmethod
    def record_id(object_type: str, index: int) -> int:
        return ID_OFFSETS[object_type] + index

    @staticmethod
    def index_of(object_type: str, record_id: int) -> int:
        return record_id - ID_OFFSETS[object_type]

    # --- cheap facts used by several derivations ----------------------------------------

    def contact_owner(self, index: int) -> Owner:
        pick = unit(self.seed, CONTACTS, index, "owner")
        return self.owners[int(pick * len(self.owners))]

    def deal_won(self, deal_index: int) -> bool | None:
        """True won, False lost, None still open."""
        roll = unit(self.seed, DEALS, deal_index, "outcome")
        if roll < 0.25:
            return True
        if roll < 0.60:
            return False
        return None

    def contact_of_engagement(self, object_type: str, index: int) -> int:
        if object_type == MEETINGS:  # meeting i is deal i's, held with the deal's contact
            return index * CONTACTS_PER_DEAL + DEAL_SLOT
        return index * self.counts[CONTACTS] // max(1, self.counts[object_type])

    def engagements_of_contact(self, object_type: str, contact_index: int) -> range:
        if object_type == MEETINGS:
            deal = contact_index // CONTACTS_PER_DEAL
            has_one = contact_index % CONTACTS_PER_DEAL == DEAL_SLOT
            return range(deal, deal + 1) if has_one and deal < self.counts[MEETINGS] else range(0)
        total, contacts = self.counts[object_type], max(1, self.counts[CONTACTS])
        first = -(-contact_index * total // contacts)
        stop = -(-(contact_index + 1) * total // contacts)
        return range(first, min(stop, total))

    # --- records ---------------------------------------------------------------------------

    def derive(self, object_type: str, index: int, detail: bool = True) -> Record:
        """The base record. `detail=False` may leave out a contact's stages, owner and history
        (for answers that show only BASIC_CONTACT_PROPERTIES); never store such a record."""
        if object_type == CONTACTS:
            record = self._contact(index, detail)
        elif object_type == DEALS:
            record = self._deal(index)
        else:
            record = self._engagement(object_type, index)
        if is_base_archived(object_type, index):
            record.archived = True
            record.archived_ms = record.modified_ms
        if is_base_merged(object_type, index):
            record.merged_into = self.record_id(object_type, index - 1)
        return record

    def _skeleton(self, object_type: str, index: int) -> Record:
        timeline = self.timelines[object_type]
        created = timeline.created(index)
        modified = timeline.modified(index, created)
        record_id = self.record_id(object_type, index)
        properties: dict[str, str | None] = {
            "hs_object_id": str(record_id),
            CREATED_PROPERTY[object_type]: iso_ms(created),
            MODIFIED_PROPERTY[object_type]: iso_ms(modified),
        }
        return Record(object_type, record_id, created, modified, properties)

    def _contact(self, index: int, detail: bool = True) -> Record:
        record = self._skeleton(CONTACTS, index)
        rng, first, last, source = self._contact_draws(index)
        props = record.properties
        props.update(
            firstname=first,
            lastname=last,
            email=f"{first}.{last}.{index}@example-buyer.com".lower(),
            hs_analytics_source=source,
        )
        if index % 100 == SURVIVOR_REMAINDER and index + 1 < self.counts[CONTACTS]:
            props["hs_merged_object_ids"] = str(self.record_id(CONTACTS, index + 1))
        if not detail:
            return record
        path = self._contact_stage_path(index, rng)
        created, modified = record.created_ms, record.modified_ms
        moments = _spread(created, modified, len(path))
        source = "FORM" if props["hs_analytics_source"] != "OFFLINE" else "IMPORT"
        history = [HistoryEntry(path[0], moments[0], source)]
        history += [
            HistoryEntry(stage, moment, "AUTOMATION_PLATFORM")
            for stage, moment in zip(path[1:], moments[1:], strict=True)
        ]
        record.history["lifecyclestage"] = history
        props["lifecyclestage"] = path[-1]
        # The first and last moments are the created and modified times, already formatted.
        stamps = {created: str(props["createdate"]), modified: str(props["lastmodifieddate"])}
        for stage, moment in zip(path, moments, strict=True):
            stamp = stamps.get(moment) or iso_ms(moment)
            stamps[moment] = stamp
            became, entered = STAGE_DATE_NAMES[stage]
            props[became] = props[entered] = stamp
        if len(path) >= 2 and path[-1] == "lead" and path[-2] == "salesqualifiedlead":
            props["hs_lifecyclestage_salesqualifiedlead_date"] = None  # cleared by the move back
        if "marketingqualifiedlead" in path:
            assigned = moments[path.index("marketingqualifiedlead")]
            self._assign_contact_owner(record, index, assigned, stamps[assigned], rng)
        return record

    def _contact_draws(self, index: int) -> tuple[Draws, str, str, str]:
        """The contact's stream after its name and source: the stage path is drawn next."""
        rng = Draws(record_hash(self.seed, CONTACTS, index, "contact"))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return rng, first, last, _pick_weighted(rng, LEAD_SOURCES)

    def handover_ms(self, index: int) -> int | None:
        """When the contact became an MQL and got its owner (None: it never did), without
        deriving the whole contact."""
        rng = self._contact_draws(index)[0]
        path = self._contact_stage_path(index, rng)
        if MQL not in path:
            return None
        timeline = self.timelines[CONTACTS]
        created = timeline.created(index)
        moments = _spread(created, timeline.modified(index, created), len(path))
        return moments[path.index(MQL)]

    def _contact_stage_path(self, index: int, rng: Draws) -> list[str]:
        path = ["subscriber"] if rng.random() < 0.2 else []
        path.append("lead")
        roll = rng.random()
        if index % CONTACTS_PER_DEAL == DEAL_SLOT:
            path += ["marketingqualifiedlead", "salesqualifiedlead", "opportunity"]
            if self.deal_won(index // CONTACTS_PER_DEAL):
                path.append("customer")
        elif roll < 0.05:
            path.append(CUSTOM_STAGE_ID)
        elif roll < 0.55:
            pass
        elif roll < 0.85:
            path.append("marketingqualifiedlead")
        else:
            path += ["marketingqualifiedlead", "salesqualifiedlead"]
            if index % 100 == BACKWARDS_REMAINDER:
                path.append("lead")
        return path

    def _assign_contact_owner(
        self, record: Record, index: int, assigned_ms: int, assigned_stamp: str, rng: Draws
    ) -> None:
        owner = self.contact_owner(index)
        props = record.properties
        props["hubspot_owner_id"] = owner.id
        props["hubspot_owner_assigneddate"] = assigned_stamp
        record.history["hubspot_owner_id"] = [
            HistoryEntry(owner.id, assigned_ms, "AUTOMATION_PLATFORM")
        ]
        statuses = [HistoryEntry("NEW", assigned_ms, "AUTOMATION_PLATFORM")]
        if record.modified_ms > assigned_ms:
            later = rng.choice(("ATTEMPTED_TO_CONTACT", "CONNECTED", "IN_PROGRESS", "UNQUALIFIED"))
            statuses.append(HistoryEntry(later, record.modified_ms, "CRM_UI", None, owner.user_id))
        record.history["hs_lead_status"] = statuses
        props["hs_lead_status"] = statuses[-1].value

    def _deal(self, index: int) -> Record:
        record = self._skeleton(DEALS, index)
        rng = Draws(record_hash(self.seed, DEALS, index, "deal"))
        pipeline = PIPELINES[1] if rng.random() < 0.1 else PIPELINES[0]
        open_stages = [stage.id for stage in pipeline.stages if not stage.is_closed]
        won_stage, lost_stage = (s.id for s in pipeline.stages if s.is_closed)
        outcome = self.deal_won(index)
        reached = rng.randrange(1, len(open_stages) + 1)
        path = open_stages[:reached]
        if outcome is not None:
            path.append(won_stage if outcome else lost_stage)
        elif index % 100 == BACKWARDS_REMAINDER and len(path) >= 2:
            path.append(path[-2])
        moments = _spread(record.created_ms, record.modified_ms, len(path))
        owner = self.contact_owner(index * CONTACTS_PER_DEAL + DEAL_SLOT)
        record.history["dealstage"] = [
            HistoryEntry(stage, moment, "CRM_UI", None, owner.user_id)
            for stage, moment in zip(path, moments, strict=True)
        ]
        record.history["hubspot_owner_id"] = [HistoryEntry(owner.id, record.created_ms, "CRM_UI")]
        props = record.properties
        for entry in record.history["dealstage"]:
            props[f"hs_v2_date_entered_{entry.value}"] = iso_ms(entry.timestamp_ms)
        props.update(
            dealname=f"Deal {index} - {rng.choice(LAST_NAMES)} Corp",
            pipeline=pipeline.id,
            dealstage=path[-1],
            amount=str(rng.randrange(10, 500) * 100),
            closedate=iso_ms(record.modified_ms + rng.randrange(5, 90) * DAY_MS),
            hubspot_owner_id=owner.id,
            hs_is_closed_won="true" if outcome else "false",
        )
        return record

    def scheduled_touch(self, object_type: str, index: int) -> tuple[int, int]:
        """(when the engagement happens, the earliest it may): each team answers at its own
        pace, in working hours only, counted from the hand-over (a rep works a lead once it is
        an MQL with an owner), or for a meeting from its deal's creation."""
        rng = Draws(record_hash(self.seed, object_type, index, "engagement"))
        team = self.contact_owner(self.contact_of_engagement(object_type, index)).team
        slow = rng.random() < team.slow_share
        delay = int(rng.expovariate(1 / team.median_response_minutes) * (8 if slow else 1))
        if object_type == MEETINGS:
            # booked by the deal's owner once the deal exists, slower than a first call
            start = self.timelines[DEALS].created(index)
            return self.hours.add_business_minutes(start, delay * MEETING_PACE), start
        contact_index = self.contact_of_engagement(object_type, index)
        handover = self.handover_ms(contact_index)
        start = self.timelines[CONTACTS].created(contact_index) if handover is None else handover
        order = index - self.engagements_of_contact(object_type, contact_index).start
        return self.hours.add_business_minutes(start, delay + order * 1440), start

    def _engagement(self, object_type: str, index: int) -> Record:
        record = self._skeleton(object_type, index)
        rng = Draws(record_hash(self.seed, object_type, index, "engagement"))
        for _ in range(2):  # the draws scheduled_touch makes come first
            rng.random()
        owner = self.contact_owner(self.contact_of_engagement(object_type, index))
        when, start = self.scheduled_touch(object_type, index)
        props = record.properties
        props.update(_engagement_fields(object_type, rng))
        if object_type == MEETINGS and when >= self.anchor_ms:
            # a deal's meeting not booked yet at the anchor: the latest one so far
            when = self.hours.last_business_minute_before(self.anchor_ms - 60_000)
        if when < self.anchor_ms:
            props.update(
                hs_timestamp=iso_ms(when),
                hubspot_owner_id=owner.id,
                hs_created_by_user_id=str(owner.user_id),
            )
            return record
        # Not due yet at the anchor: the rep has not got to the lead (the live activity works
        # it when due). The record exists all the same, as the buyer's own inbound call or
        # email at the start, logged by no one: not a touch by the owner.
        props.update(hs_timestamp=iso_ms(start), hubspot_owner_id=None)
        props.update(INBOUND_FIELDS.get(object_type, {}))
        return record

    def waiting_first_touches(self, since_ms: int) -> list[tuple[int, Owner, int]]:
        """(contact index, owner, due) of the MQLs handed over since `since_ms` whose owner's
        first call or email was not due yet at the anchor: leads a rep still has to work."""
        timeline = self.timelines[CONTACTS]
        waiting = []
        for index in range(timeline.first_created_at_or_after(since_ms), self.counts[CONTACTS]):
            if is_base_archived(CONTACTS, index) or is_base_merged(CONTACTS, index):
                continue
            if self.handover_ms(index) is None:
                continue
            due = min(
                (
                    self.scheduled_touch(kind, engagement)[0]
                    for kind in FIRST_TOUCH_TYPES
                    for engagement in self.engagements_of_contact(kind, index)
                ),
                default=None,
            )
            if due is not None and due >= self.anchor_ms:
                waiting.append((index, self.contact_owner(index), due))
        return waiting


def _spread(first_ms: int, last_ms: int, count: int) -> list[int]:
    """`count` moments from first to last inclusive, evenly spaced."""
    if count <= 1:
        return [first_ms] * count
    gap = (last_ms - first_ms) / (count - 1)
    return [first_ms + int(gap * step) for step in range(count - 1)] + [last_ms]


def _engagement_fields(object_type: str, rng: Draws) -> dict[str, str | None]:
    if object_type == "calls":
        status = rng.choice(("COMPLETED", "COMPLETED", "NO_ANSWER", "BUSY"))
        duration = rng.randrange(30, 1800) * 1000 if status == "COMPLETED" else 0
        return {
            "hs_call_status": status,
            "hs_call_direction": "OUTBOUND",
            "hs_call_duration": str(duration),
            "hs_call_title": "Intro call",
        }
    if object_type == "emails":
        return {
            "hs_email_direction": rng.choice(("EMAIL", "EMAIL", "INCOMING_EMAIL")),
            "hs_email_subject": "Following up",
            "hs_email_status": "SENT",
        }
    if object_type == "meetings":
        return {
            "hs_meeting_title": "Discovery meeting",
            "hs_meeting_outcome": rng.choice(("SCHEDULED", "COMPLETED", "NO_SHOW")),
        }
    if object_type == "notes":
        return {"hs_note_body": "Spoke with the buyer about timing."}
    return {
        "hs_task_subject": "Call back",
        "hs_task_status": rng.choice(("NOT_STARTED", "COMPLETED")),
        "hs_task_type": rng.choice(("CALL", "EMAIL", "TODO")),
    }
