"""The `alerts:` section of the rules set in force, parsed once per process and rule set."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.config import AlertsConfig, check_alerts
from app.models import SlaRuleSet
from app.sla.loader import RulesFileError

log = logging.getLogger(__name__)

_parsed: dict[str, AlertsConfig | None] = {}


def alerts_in_force(session: Session) -> AlertsConfig | None:
    """The routes of the newest stored rule set; None when it has no `alerts:` section."""
    fingerprint = session.scalar(
        select(SlaRuleSet.fingerprint).order_by(SlaRuleSet.id.desc()).limit(1)
    )
    if fingerprint is None:
        return None
    if fingerprint not in _parsed:
        row = session.scalar(select(SlaRuleSet).order_by(SlaRuleSet.id.desc()).limit(1))
        assert row is not None
        _parsed[fingerprint] = _parse(row.text, row.source)
    return _parsed[fingerprint]


def _parse(text: str, source: str) -> AlertsConfig | None:
    # Secrets and addresses are left to `rules check` and to the moment a message is sent.
    try:
        return check_alerts(text, source, check_environment=False)
    except RulesFileError as error:
        # The SLA engine keeps running on these rules: only alerting stops, and says why.
        log.error("the alerts: section of the rules in force is invalid, no alerts: %s", error)
        return None
