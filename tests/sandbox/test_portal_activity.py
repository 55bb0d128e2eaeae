"""The synthetic portal: determinism, the writer's history, and simulated activity."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from sandbox.portal import Portal, PortalConfig
from sandbox.portal.activity import ActivitySimulator
from sandbox.portal.calendar import is_business_time
from sandbox.portal.writer import PortalWriter

ANCHOR_MS = 1_767_000_000_000  # fixed so the portal is the same on every run
ZONE = ZoneInfo("America/New_York")


def _local_ms(days_after_anchor: int, hour: int, weekday: int) -> int:
    """A moment after the anchor on the given weekday (0 = Monday) at `hour` New York time."""
    day = datetime.fromtimestamp(ANCHOR_MS / 1000, tz=ZONE) + timedelta(days=days_after_anchor)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return int(day.replace(hour=hour, minute=0, second=0, microsecond=0).timestamp() * 1000)


def _portal(**overrides: object) -> Portal:
    return Portal(PortalConfig(**{"contacts": 300, "anchor_ms": ANCHOR_MS, **overrides}))  # type: ignore[arg-type]


def test_same_seed_same_portal_other_seed_other_portal():
    first, again, other = _portal(seed=5), _portal(seed=5), _portal(seed=6)
    assert [t.properties for t in first.truth("deals")] == [
        t.properties for t in again.truth("deals")
    ]
    assert [t.properties for t in first.truth("contacts")] != [
        t.properties for t in other.truth("contacts")
    ]


def test_base_portal_has_the_traps_real_portals_have():
    portal = _portal(contacts=1000)
    contacts = list(portal.truth("contacts"))
    assert any(t.merged_into for t in contacts)
    survivors = {t.merged_into for t in contacts if t.merged_into}
    assert all(portal.get("contacts", s).properties.get("hs_merged_object_ids") for s in survivors)
    assert any(t.archived and not t.merged_into for t in contacts)
    moved_back = [
        t for t in contacts
        if [e.value for e in t.history["lifecyclestage"]][-2:] == ["salesqualifiedlead", "lead"]
    ]  # fmt: skip
    assert moved_back
    assert any(o.archived for o in portal.owners)
    archived_owner_ids = {o.id for o in portal.owners if o.archived}
    assert any(t.properties.get("hubspot_owner_id") in archived_owner_ids for t in contacts)


def test_engagements_are_logged_in_business_hours():
    portal = _portal(contacts=500)
    for truth in portal.truth("calls"):
        if truth.properties.get("hubspot_owner_id") is None:
            continue  # the buyer's own call, logged by no one: it may come at any time
        moment = datetime.fromisoformat(truth.properties["hs_timestamp"].replace("Z", "+00:00"))
        local = moment.astimezone(ZONE)
        assert local.weekday() < 5 and 9 <= local.hour < 18, truth.properties["hs_timestamp"]


def test_an_update_bumps_modified_time_and_records_history():
    portal = _portal()
    writer = PortalWriter(portal)
    contact = next(t for t in portal.truth("contacts") if t.properties["lifecyclestage"] == "lead")
    at = ANCHOR_MS + 60_000
    writer.update("contacts", contact.id, {"lifecyclestage": "marketingqualifiedlead"}, at_ms=at)
    writer.update("contacts", contact.id, {"lifecyclestage": "lead"}, at_ms=at + 1000)
    after = portal.truth_of("contacts", portal.get("contacts", contact.id))
    assert after.modified_ms == at + 1000
    assert [e.value for e in after.history["lifecyclestage"]][-3:] == [
        "lead",
        "marketingqualifiedlead",
        "lead",
    ]
    assert after.properties["hs_v2_date_exited_marketingqualifiedlead"] is not None


def test_night_ticks_bring_leads_but_no_calls_or_emails():
    portal = _portal()
    simulator = ActivitySimulator(portal, PortalWriter(portal), seed=1)
    night = _local_ms(1, 2, weekday=2)
    assert not is_business_time(night, ZONE)
    calls_before = portal.count("calls") + portal.count("emails")
    reports = [simulator.tick(night + i * 60_000) for i in range(20)]
    assert sum(r.created for r in reports) > 0
    assert sum(r.qualified for r in reports) > 0
    assert sum(r.touches for r in reports) == 0
    assert portal.count("calls") + portal.count("emails") == calls_before


def test_reps_answer_new_mqls_once_business_hours_come():
    portal = _portal()
    simulator = ActivitySimulator(portal, PortalWriter(portal), seed=1)
    night = _local_ms(1, 2, weekday=2)
    for i in range(10):
        simulator.tick(night + i * 60_000)
    waiting = [p.contact_id for p in simulator.pending]
    assert waiting
    next_week = _local_ms(8, 17, weekday=3)  # the longest habit fits in a week of work hours
    touched = simulator.tick(next_week).touches
    assert touched >= len(waiting)
    contact = portal.truth_of("contacts", portal.get("contacts", waiting[0]))
    assert contact.associations["calls"] or contact.associations["emails"]
    assert "ATTEMPTED_TO_CONTACT" in [e.value for e in contact.history["hs_lead_status"]]


def test_changed_records_move_to_the_end_of_a_modified_time_search(sandbox):
    changed = sorted(int(i) for i in sandbox.emulator.activity.mutate("contacts", 3))
    body = {
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
        "limit": 3,
    }
    answer = httpx.post(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/search",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
    ).json()
    assert sorted(int(r["id"]) for r in answer["results"]) == changed


def test_archived_contact_leaves_lists_and_search_but_not_the_archived_list(sandbox):
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    contact = next(t for t in sandbox.portal.truth("contacts") if not t.archived)
    sandbox.emulator.writer.archive("contacts", contact.id)
    base = f"{sandbox.hubspot_url}/crm/v3/objects/contacts"
    with httpx.Client(headers=auth) as http:
        active = http.get(base, params={"limit": 100}).json()["results"]
        archived = http.get(base, params={"limit": 100, "archived": "true"}).json()["results"]
        batch = http.post(f"{base}/batch/read", json={"inputs": [{"id": str(contact.id)}]})
        found = http.post(
            f"{base}/search",
            json={"filterGroups": [{"filters": [
                {"propertyName": "hs_object_id", "operator": "EQ", "value": str(contact.id)}
            ]}]},
        ).json()  # fmt: skip
    assert str(contact.id) not in {r["id"] for r in active}
    assert str(contact.id) in {r["id"] for r in archived}
    assert batch.status_code == 207
    assert batch.json()["errors"][0]["context"]["ids"] == [str(contact.id)]
    assert found["total"] == 0


def test_control_api_mutates_ticks_reports_and_resets(sandbox):
    control = sandbox.control_url
    changed = httpx.post(f"{control}/mutate", json={"type": "deals", "count": 4}).json()["changed"]
    assert len(changed) == 4
    truth = httpx.get(f"{control}/truth/deals/{changed[0]}").json()
    assert truth["updatedAt"] > truth["createdAt"]
    assert httpx.post(f"{control}/tick", json={}).status_code == 200
    stats = httpx.get(f"{control}/stats").json()
    assert stats["total"] == 0  # the control API itself is not counted
    httpx.post(f"{control}/reset")
    assert sandbox.portal.count("contacts") == 300
    page = httpx.get(f"{control}/truth/contacts", params={"limit": 5}).json()
    assert page["total"] == 300 and len(page["results"]) == 5 and page["nextOffset"] == 5


def test_cheap_contacts_agree_with_full_ones_on_what_they_show():
    portal = _portal(contacts=1000)
    for index in range(0, 1000, 7):
        full = portal.generator.derive("contacts", index)
        cheap = portal.generator.derive("contacts", index, detail=False)
        assert cheap.properties == {
            name: value for name, value in full.properties.items() if name in cheap.properties
        }
        assert (cheap.archived, cheap.merged_into) == (full.archived, full.merged_into)
