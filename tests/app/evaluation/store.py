"""Filling the store the way the sync does: rows through the models."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.models import (
    Association,
    Contact,
    Deal,
    Engagement,
    LifecycleStage,
    Owner,
    Pipeline,
    PipelineStage,
    Portal,
    Transition,
)

PORTAL = 4242
STAGES = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed_portal(session: Session, time_zone: str = "America/New_York") -> None:
    session.add(Portal(id=PORTAL, time_zone=time_zone))
    session.flush()
    for order, stage in enumerate(STAGES):
        session.add(LifecycleStage(portal_id=PORTAL, id=stage, label=stage, display_order=order))
    session.add(
        Owner(
            portal_id=PORTAL,
            id="7",
            email="rep@example.com",
            teams=[{"id": "55"}],
            primary_team_id="55",
        )
    )
    session.add(Pipeline(portal_id=PORTAL, id="default", label="Sales"))
    session.flush()
    for order, (stage, closed, won) in enumerate(
        [
            ("appointment", False, False),
            ("contract", False, False),
            ("won", True, True),
            ("lost", True, False),
        ]
    ):
        session.add(
            PipelineStage(
                portal_id=PORTAL,
                pipeline_id="default",
                id=stage,
                label=stage,
                display_order=order,
                is_closed=closed,
                is_won=won,
            )
        )
    session.flush()


def add_contact(
    session: Session,
    contact_id: str,
    stages: list[tuple[str, datetime]],
    *,
    owner: str | None = "7",
    source: str = "ORGANIC_SEARCH",
    lead_status: str | None = None,
) -> None:
    session.add(
        Contact(
            portal_id=PORTAL,
            id=contact_id,
            lifecycle_stage=stages[-1][0],
            owner_id=owner,
            lead_source=source,
            lead_status=lead_status,
            created_at=stages[0][1],
            properties={},
        )
    )
    for index, (value, entered) in enumerate(stages):
        exited = stages[index + 1][1] if index + 1 < len(stages) else None
        session.add(
            Transition(
                portal_id=PORTAL,
                object_type="contact",
                object_id=contact_id,
                property="lifecyclestage",
                value=value,
                entered_at=entered,
                exited_at=exited,
                source="history",
            )
        )
    session.flush()


def add_touch(
    session: Session, engagement_id: str, contact_id: str, at: datetime, owner: str = "7"
) -> None:
    session.add(
        Engagement(
            portal_id=PORTAL,
            id=engagement_id,
            type="call",
            occurred_at=at,
            owner_id=owner,
            direction="OUTBOUND",
        )
    )
    session.add(
        Association(
            portal_id=PORTAL,
            from_type="engagement",
            from_id=engagement_id,
            to_type="contact",
            to_id=contact_id,
        )
    )
    session.flush()


def add_deal(
    session: Session,
    deal_id: str,
    stages: list[tuple[str, datetime]],
    *,
    amount: int = 1000,
    close_date: datetime | None = None,
) -> None:
    session.add(
        Deal(
            portal_id=PORTAL,
            id=deal_id,
            pipeline="default",
            deal_stage=stages[-1][0],
            amount=amount,
            owner_id="7",
            created_at=stages[0][1],
            close_date=close_date,
            properties={},
        )
    )
    for index, (value, entered) in enumerate(stages):
        exited = stages[index + 1][1] if index + 1 < len(stages) else None
        session.add(
            Transition(
                portal_id=PORTAL,
                object_type="deal",
                object_id=deal_id,
                property="dealstage",
                value=value,
                entered_at=entered,
                exited_at=exited,
                source="history",
            )
        )
    session.flush()


CALENDAR = """calendars:
  default:
    hours: {mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"],
            thu: ["09:00-18:00"], fri: ["09:00-18:00"]}
    holidays: {country: US}
"""


def rules_file(tmp_path: Path, rules_yaml: str, name: str = "sla.yaml") -> Path:
    path = tmp_path / name
    path.write_text(CALENDAR + "rules:\n" + rules_yaml)
    return path
