"""Writing what a webhook says about a contact or deal onto its row.

The typed columns are derived from the properties by the CRM store's mapping (`app.crm.mapping`),
so a record looks the same whether it came by a sync or by webhooks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.crm.keys import RecordKey
from app.crm.mapping import contact_row, deal_row
from app.crm.repository import ensure_portal
from app.models import Contact, Deal
from app.webhooks import property_versions
from integrations.hubspot.records import CrmRecord

RecordRow = Contact | Deal
STORED_TYPES = ("contact", "deal")
# Columns the webhook worker never derives: identity, and what only a full read can say.
_NOT_DERIVED = {"portal_id", "id", "archived", "properties", "modified_at", "synced_at"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load(session: Session, key: RecordKey) -> RecordRow | None:
    if key.object_type == "contact":
        return session.get(Contact, (key.portal_id, key.object_id))
    return session.get(Deal, (key.portal_id, key.object_id))


def load_or_create(session: Session, key: RecordKey) -> tuple[RecordRow, bool]:
    """The row, or a new stub (properties filled in by events until the record is read)."""
    row = load(session, key)
    if row is not None:
        return row, False
    ensure_portal(session, key.portal_id)
    stub: RecordRow
    if key.object_type == "contact":
        stub = Contact(portal_id=key.portal_id, id=key.object_id, archived=False, properties={})
    else:
        stub = Deal(portal_id=key.portal_id, id=key.object_id, archived=False, properties={})
    # The property changes that came before the row (and created none) are in the property versions:
    # whichever event creates the row, it starts from the same facts.
    for name, version in sorted(property_versions.versions_of(session, key).items()):
        if not name.startswith(":"):
            set_property(stub, key.object_type, name, version.value)
    session.add(stub)
    return stub, True


def read_is_newer(row: RecordRow, at: datetime) -> bool:
    """The row came from a HubSpot read of a moment at or after `at`: it already knows."""
    return row.modified_at is not None and row.modified_at >= at


def set_property(row: RecordRow, object_type: str, name: str, value: str | None) -> None:
    properties = {**row.properties, name: value}
    row.properties = properties  # a new dict, so the JSON column is seen as changed
    derived = derived_columns(row.portal_id, object_type, row.id, properties)
    for column, derived_value in derived.items():
        setattr(row, column, derived_value)


def derived_columns(
    portal_id: int, object_type: str, object_id: str, properties: dict[str, Any]
) -> dict[str, Any]:
    """The typed columns the CRM mapping derives from these properties."""
    hubspot_type = "contacts" if object_type == "contact" else "deals"
    record = CrmRecord(object_type=hubspot_type, id=object_id, properties=properties)
    build = contact_row if object_type == "contact" else deal_row
    derived = build(portal_id, record, _EPOCH)
    return {name: value for name, value in derived.items() if name not in _NOT_DERIVED}
