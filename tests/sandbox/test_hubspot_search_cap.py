"""The 10,000-result cap and the trap of more than 10,000 records with one modified time."""

from __future__ import annotations

from collections import Counter

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest

pytestmark = pytest.mark.sandbox(contacts=12_000, limits=False)


def _crowded_moment(portal) -> tuple[int, set[int]]:
    """The modified time most active contacts share, and their ids."""
    active = [t for t in portal.truth("contacts") if not t.archived]
    moment, _ = Counter(t.modified_ms for t in active).most_common(1)[0]
    return moment, {t.id for t in active if t.modified_ms == moment}


def _search(client, filters, after, limit=200, sort="hs_object_id"):
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": filters}],
        sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
        limit=limit,
        after=str(after),
    )
    return client.crm.contacts.search_api.do_search(public_object_search_request=request)


def test_more_than_ten_thousand_contacts_share_one_modified_time(sandbox):
    _, sharing = _crowded_moment(sandbox.portal)
    assert len(sharing) > 10_000


def test_paging_past_ten_thousand_results_is_a_400(sandbox):
    client = HubSpot(access_token=sandbox.token, host=sandbox.hubspot_url)
    moment, sharing = _crowded_moment(sandbox.portal)
    same_time = [{"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(moment)}]
    last_allowed = _search(client, same_time, after=9_800)
    assert last_allowed.total == len(sharing)
    assert len(last_allowed.results) == 200
    assert last_allowed.paging.next.after == "10000"
    with pytest.raises(ApiException) as caught:
        _search(client, same_time, after=10_000)
    assert caught.value.status == 400
    assert "VALIDATION_ERROR" in caught.value.body


def test_windowing_by_time_and_id_reads_every_record_of_the_crowded_moment(sandbox):
    client = HubSpot(access_token=sandbox.token, host=sandbox.hubspot_url)
    moment, sharing = _crowded_moment(sandbox.portal)
    seen: list[int] = []
    last_id = 0
    while True:
        filters = [
            {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(moment)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
        ]
        after = 0
        while after is not None and after < 10_000:
            page = _search(client, filters, after)
            seen += [int(r.id) for r in page.results]
            after = int(page.paging.next.after) if page.paging else None
        if after is None:
            break
        last_id = seen[-1]
    assert len(seen) == len(set(seen))
    assert set(seen) == sharing
