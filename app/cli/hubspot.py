"""`slaguard hubspot setup [--dry-run]`: the `slaguard` property group and the SLA properties
the `hubspot_properties` receiver writes, on contacts and deals. Safe to run again: what
exists is left alone. A successful run also switches write-back back on after a missing scope
switched it off (the scope has evidently been granted since)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import typer
from sqlalchemy import update

from alerts.hubspot_delivery import STATE_OPTIONS
from app.cli.common import console, fail, store_from_env
from app.models import AlertEndpoint
from app.store.db import create_session_factory, session_scope
from integrations.hubspot.errors import HubSpotError
from integrations.hubspot.writes import HubSpotWriter, PropertySpec

GROUP = "slaguard"
GROUP_LABEL = "slaguard SLA"
OBJECT_TYPES = ("contacts", "deals")
PROPERTIES = (
    PropertySpec(
        "slaguard_sla_state",
        "SLA state",
        "enumeration",
        "select",
        "Where the record's SLA clock stands (written by slaguard).",
        STATE_OPTIONS,
    ),
    PropertySpec(
        "slaguard_first_touch_due",
        "First touch due",
        "datetime",
        "date",
        "When the first touch is due under the SLA (written by slaguard).",
    ),
    PropertySpec(
        "slaguard_first_touch_minutes",
        "Business minutes to first touch",
        "number",
        "number",
        "Business minutes from the SLA start to the first touch, once met (written by slaguard).",
    ),
)
WRITE_BACK_SWITCHES = ("hubspot_task", "hubspot_properties")

app = typer.Typer(help="Write-back into HubSpot: set-up of the slaguard properties.")


@dataclass
class SchemaPlan:
    """What setup did (or, dry, would do), per object type."""

    groups: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)


def ensure_schema(writer: HubSpotWriter, *, dry_run: bool) -> SchemaPlan:
    plan = SchemaPlan()
    for object_type in OBJECT_TYPES:
        if dry_run:
            if not _group_exists(writer, object_type):
                plan.groups.append(object_type)
        elif writer.ensure_group(object_type, GROUP, GROUP_LABEL):
            plan.groups.append(object_type)
        for name in writer.missing_properties(object_type, PROPERTIES):
            spec = next(p for p in PROPERTIES if p.name == name)
            if not dry_run:
                writer.create_property(object_type, GROUP, spec)
            plan.properties.append(f"{object_type}.{name}")
    return plan


def _group_exists(writer: HubSpotWriter, object_type: str) -> bool:
    # Reading, not creating: a dry run must not change the portal.
    return writer.has_group(object_type, GROUP)


@app.command()
def setup(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created."),
) -> None:
    """Create the slaguard property group and SLA properties on contacts and deals."""
    settings, engine = store_from_env()
    if settings.hubspot_access_token is None:
        fail("HUBSPOT_ACCESS_TOKEN is not set: slaguard cannot reach HubSpot.")
    writer = HubSpotWriter.for_portal(
        settings.hubspot_access_token.get_secret_value(),
        settings.hubspot_base_url,
        requests_per_10s=settings.hubspot_requests_per_10s,
        search_per_second=settings.hubspot_search_per_second,
    )
    try:
        plan = ensure_schema(writer, dry_run=dry_run)
    except HubSpotError as error:
        engine.dispose()
        fail(str(error))
    verb = "would create" if dry_run else "created"
    for object_type in plan.groups:
        console.print(f"{verb} property group {object_type}.{GROUP}", highlight=False)
    for name in plan.properties:
        console.print(f"{verb} property {name}", highlight=False)
    if not plan.groups and not plan.properties:
        console.print("nothing to do: the slaguard properties exist", highlight=False)
    if not dry_run:
        with session_scope(create_session_factory(engine)) as session:
            session.execute(
                update(AlertEndpoint)
                .where(AlertEndpoint.name.in_(WRITE_BACK_SWITCHES))
                .values(disabled_at=None, disabled_reason=None, updated_at=datetime.now(UTC))
            )
    engine.dispose()


def register(cli: typer.Typer) -> None:
    cli.add_typer(app, name="hubspot")
