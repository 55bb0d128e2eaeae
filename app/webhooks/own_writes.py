"""slaguard's own write-back coming home.

Every `slaguard_*` property slaguard sets on a record comes back as a `propertyChange` webhook
(and bumps the record's modified time, so the next sync reads it again). None of them is news
about the lead: applying one must not start, stop or re-evaluate a clock, nor count as a
touch. The worker marks them processed without applying them, so they never queue the record
for re-evaluation. The sync reads only the properties the rules name, which never include ours,
and the evaluation leaves slaguard's own tasks out of the touches (hubspot_tasks).
"""

from __future__ import annotations

from app.models import WebhookEvent

OWN_PROPERTY_PREFIX = "slaguard_"


def is_own_write(event: WebhookEvent) -> bool:
    return event.subscription_type.endswith(".propertyChange") and (
        event.property_name or ""
    ).startswith(OWN_PROPERTY_PREFIX)
