"""The example's `new-deal-meeting` rule on the sandbox, end to end through the sync: a new
deal starts its clock, and a meeting logged on it (HubSpot sends no webhook for meetings)
stops it at the next incremental sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from app.models import SlaInstance
from app.store.db import session_scope
from sandbox.portal.timeline import iso_ms
from sandbox.portal.writer import PortalWriter
from tests.app.sync.test_sync_sandbox import _service

EXAMPLE = Path(__file__).resolve().parents[3] / "sla.example.yaml"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.sandbox(contacts=300, limits=False)
def test_a_meeting_logged_on_a_new_deal_meets_the_rule(settings, session_factory, sandbox) -> None:
    def clock() -> SlaInstance:
        with session_factory() as session:
            return session.scalars(
                select(SlaInstance).where(
                    SlaInstance.rule_id == "new-deal-meeting",
                    SlaInstance.object_id == str(deal.id),
                )
            ).one()

    _service(settings, session_factory, sandbox).run(full=True)
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        activate_rules(session, EXAMPLE, now)
    with session_scope(session_factory) as session:
        evaluate_all(session, now=now, after_batch=session.commit)

    writer = PortalWriter(sandbox.portal)
    owner = next(o for o in sandbox.portal.owners if not o.archived)
    contact = next(t.id for t in sandbox.portal.truth("contacts") if not t.archived)
    deal = writer.create(
        "deals",
        {
            "dealname": "Acme renewal",
            "pipeline": "default",
            "dealstage": "appointmentscheduled",
            "hubspot_owner_id": owner.id,
        },
        links={"contacts": [contact]},
    )
    _service(settings, session_factory, sandbox).run()
    assert clock().state == "running"

    met_ms = sandbox.portal.now_ms()
    writer.create(
        "meetings",
        {"hs_timestamp": iso_ms(met_ms), "hubspot_owner_id": owner.id},
        links={"deals": [deal.id], "contacts": [contact]},
        at_ms=met_ms,
    )
    _service(settings, session_factory, sandbox).run()
    met = clock()
    assert met.state == "met"
    assert met.stopped_at == EPOCH + timedelta(milliseconds=met_ms)
