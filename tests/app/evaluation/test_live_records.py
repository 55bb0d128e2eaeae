"""A quota without a scope counts live records only: archived and merged contacts drop out,
as they do through the scope test of a rule that has one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.evaluation.reports import quota_progress
from app.evaluation.rules_store import activate_rules
from tests.fixtures.crm import PORTAL, add_contact, seed_portal, utc
from tests.fixtures.rules import rules_file

QUOTA = """  - id: weekly-mqls
    kind: quota
    counts: {{property: lifecyclestage, equals: marketingqualifiedlead}}
    {scope}period: week
    target: 4
    time: calendar
"""


@pytest.mark.parametrize(
    "scope", ["", "scope: [{property: hs_analytics_source, equals: ORGANIC_SEARCH}]\n    "]
)
def test_archived_and_merged_contacts_are_not_counted(
    session: Session, tmp_path: Path, scope: str
) -> None:
    seed_portal(session)
    at = utc("2026-11-23 15:00")
    for contact_id in ("1", "2", "3"):
        add_contact(
            session, contact_id, [("lead", utc("2026-11-23 01:00")), ("marketingqualifiedlead", at)]
        )
    session.flush()
    archived = add_contact(session, "4", [("marketingqualifiedlead", at)])
    archived.archived = True
    merged = add_contact(session, "5", [("marketingqualifiedlead", at)])
    merged.merged_into_id = "1"
    rules = activate_rules(session, rules_file(tmp_path, QUOTA.format(scope=scope)), at)[0]
    progress = quota_progress(session, PORTAL, rules, "weekly-mqls", utc("2026-11-24 12:00"))
    assert progress.count == 3
