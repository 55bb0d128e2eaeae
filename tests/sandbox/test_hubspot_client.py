"""The HubSpot emulator driven by HubSpot's own Python client over real HTTP."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.contacts import (
    ApiException,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)


@pytest.fixture
def client(sandbox):
    return HubSpot(access_token=sandbox.token, host=sandbox.hubspot_url)


def _active_ids(portal, kind):
    return {t.id for t in portal.truth(kind) if not t.archived}


def test_paging_through_contacts_returns_every_active_contact_once(sandbox, client):
    seen: list[int] = []
    after = None
    while True:
        page = client.crm.contacts.basic_api.get_page(limit=100, after=after)
        seen += [int(c.id) for c in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == len(set(seen))
    assert set(seen) == _active_ids(sandbox.portal, "contacts")


def test_archived_list_shows_only_archived_deals(sandbox, client):
    page = client.crm.deals.basic_api.get_page(limit=100, archived=True)
    archived = {t.id for t in sandbox.portal.truth("deals") if t.archived}
    assert archived, "the portal should have archived deals"
    assert {int(d.id) for d in page.results} == archived
    assert all(d.archived and d.archived_at is not None for d in page.results)


def test_deals_page_carries_requested_properties_as_strings(client):
    page = client.crm.deals.basic_api.get_page(limit=5, properties=["dealstage", "amount"])
    deal = page.results[0]
    assert isinstance(deal.properties["amount"], str)
    assert deal.properties["dealstage"]
    assert deal.properties["hs_lastmodifieddate"].endswith("Z")


def test_list_refuses_more_than_fifty_with_history(client):
    with pytest.raises(Exception) as caught:
        client.crm.contacts.basic_api.get_page(
            limit=100, properties_with_history=["lifecyclestage"]
        )
    assert caught.value.status == 400
    assert "VALIDATION_ERROR" in caught.value.body


def test_search_by_modified_window_matches_ground_truth(sandbox, client):
    truth = [t for t in sandbox.portal.truth("contacts") if not t.archived]
    middle = sorted(t.modified_ms for t in truth)[len(truth) // 2]
    wanted = {t.id for t in truth if t.modified_ms >= middle}
    found: list[int] = []
    after = "0"
    while after is not None:
        request = PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "GTE",
                            "value": str(middle),
                        }
                    ]
                }
            ],
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            limit=50,
            after=after,
        )
        page = client.crm.contacts.search_api.do_search(public_object_search_request=request)
        assert page.total == len(wanted)
        found += [int(r.id) for r in page.results]
        after = page.paging.next.after if page.paging else None
    assert found == sorted(wanted, key=lambda i: (sandbox.portal.get("contacts", i).modified_ms, i))


def test_search_with_property_filter_and_in(sandbox, client):
    request = PublicObjectSearchRequest(
        filter_groups=[
            {"filters": [{"propertyName": "lifecyclestage", "operator": "IN",
                          "values": ["marketingqualifiedlead", "salesqualifiedlead"]}]}
        ],
        limit=200,
    )  # fmt: skip
    page = client.crm.contacts.search_api.do_search(public_object_search_request=request)
    wanted = {
        t.id
        for t in sandbox.portal.truth("contacts")
        if not t.archived
        and t.properties.get("lifecyclestage") in ("marketingqualifiedlead", "salesqualifiedlead")
    }
    assert page.total == len(wanted)
    assert {int(r.id) for r in page.results} == wanted


def test_search_refuses_a_page_size_over_200(client):
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.search_api.do_search(
            public_object_search_request=PublicObjectSearchRequest(limit=201)
        )
    assert caught.value.status == 400


def test_batch_read_returns_history_newest_first(sandbox, client):
    moved = [
        t for t in sandbox.portal.truth("contacts")
        if not t.archived and len(t.history["lifecyclestage"]) >= 3
    ][:5]  # fmt: skip
    batch = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=str(t.id)) for t in moved],
        properties=["lifecyclestage"],
        properties_with_history=["lifecyclestage"],
    )
    answer = client.crm.contacts.batch_api.read(batch_read_input_simple_public_object_id=batch)
    by_id = {int(r.id): r for r in answer.results}
    for truth in moved:
        history = by_id[truth.id].properties_with_history["lifecyclestage"]
        assert [h.value for h in history] == [
            e.value for e in reversed(truth.history["lifecyclestage"])
        ]
        assert history[0].value == truth.properties["lifecyclestage"]


def test_batch_read_of_merged_id_answers_with_the_survivor(sandbox, client):
    merged = next(t for t in sandbox.portal.truth("contacts") if t.merged_into is not None)
    batch = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=str(merged.id))], properties=["hs_merged_object_ids"]
    )
    answer = client.crm.contacts.batch_api.read(batch_read_input_simple_public_object_id=batch)
    assert [int(r.id) for r in answer.results] == [merged.merged_into]
    assert str(merged.id) in answer.results[0].properties["hs_merged_object_ids"]


def test_owners_include_archived_ones_without_user_id(client):
    active = client.crm.owners.owners_api.get_page(limit=500).results
    archived = client.crm.owners.owners_api.get_page(limit=500, archived=True).results
    assert active and archived
    assert all(o.user_id is not None for o in active)
    assert all(o.archived and o.user_id is None and o.user_id_including_inactive for o in archived)


def test_deal_pipelines_have_closed_won_stage(client):
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals").results
    stages = {s.id: s for p in pipelines for s in p.stages}
    assert stages["closedwon"].metadata == {"isClosed": "true", "probability": "1.0"}


def test_lifecycle_property_lists_a_custom_stage(client):
    definitions = client.crm.properties.core_api.get_all("contacts").results
    stage = next(d for d in definitions if d.name == "lifecyclestage")
    values = [o.value for o in stage.options]
    assert "marketingqualifiedlead" in values
    assert any(v.isdigit() for v in values)


def test_associations_v4_link_contacts_to_their_deals(sandbox, client):
    with_deals = [
        t for t in sandbox.portal.truth("contacts") if t.associations["deals"] and not t.archived
    ][:10]
    request = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=str(t.id)) for t in with_deals]
    )
    answer = client.crm.associations.v4.batch_api.get_page(
        "contacts", "deals", batch_input_public_fetch_associations_batch_request=request
    )
    links = {int(r._from.id): [int(to.to_object_id) for to in r.to] for r in answer.results}
    assert links == {t.id: t.associations["deals"] for t in with_deals}
    assert answer.results[0].to[0].association_types[0].type_id == 4


def test_bad_token_gets_hubspots_401(sandbox):
    client = HubSpot(access_token="pat-na1-wrong", host=sandbox.hubspot_url)
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.get_page(limit=1)
    assert caught.value.status == 401
    assert "INVALID_AUTHENTICATION" in caught.value.body
