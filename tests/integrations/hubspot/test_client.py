"""The HubSpot client against the sandbox over real HTTP: typed records, typed errors, retries."""

from __future__ import annotations

import socket
import threading
from datetime import datetime

import pytest
from pydantic import SecretStr

from app import hubspot_client
from app.config import Settings
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.errors import (
    HubSpotAuthError,
    HubSpotBadRequest,
    HubSpotUnavailable,
)
from integrations.hubspot.records import CrmRecord
from integrations.hubspot.retry import RetryPolicy

FAST_RETRIES = RetryPolicy(base_delay=0.05, max_delay=1.0, max_attempts=12)


def _client(sandbox, **kwargs) -> HubSpotClient:
    kwargs.setdefault("retry_policy", FAST_RETRIES)
    return HubSpotClient(sandbox.token, sandbox.hubspot_url, **kwargs)


@pytest.mark.sandbox(contacts=120, limits=False)
def test_pages_and_batch_reads_come_back_as_typed_records(sandbox) -> None:
    client = _client(sandbox)
    page = client.records_of(
        client.list_page_raw("contacts", ["email", "lifecyclestage", "lastmodifieddate"])
    )
    assert len(page.results) == 100 and page.next_after is not None
    first = page.results[0]
    assert isinstance(first, CrmRecord) and first.object_type == "contacts"
    assert isinstance(first.updated_at, datetime) and first.updated_at.tzinfo is not None

    ids = [r.id for r in page.results]
    read = client.batch_read(
        "contacts", ids, properties=["lifecyclestage"], properties_with_history=["lifecyclestage"]
    )
    assert {r.id for r in read} <= set(ids) and len(read) >= 90
    history = read[0].history["lifecyclestage"]
    assert history and all(change.timestamp.tzinfo is not None for change in history)
    assert history[0].value == read[0].properties["lifecyclestage"]  # newest first

    details = client.account_details()
    assert details.portal_id == sandbox.portal.portal_id
    owners = client.owners_page(archived=True)
    assert owners.results and all(owner.archived for owner in owners.results)
    assert client.pipelines()[0].stages


@pytest.mark.sandbox(contacts=60, limits=True)
def test_rate_limits_are_ridden_out_through_retry_after(sandbox) -> None:
    # pacing switched off on our side (limits far above the sandbox's) to provoke 429s
    client = _client(sandbox, requests_per_10s=10_000, search_per_second=100)
    request = {"filterGroups": [], "limit": 1}
    for _ in range(12):
        client.search_page("contacts", request)
    assert client.stats.rate_limited > 0
    assert client.stats.retries >= client.stats.rate_limited


@pytest.mark.sandbox(contacts=60, limits=False, fault_rate=0.4)
def test_server_errors_are_retried_until_they_pass(sandbox) -> None:
    client = _client(sandbox)
    for _ in range(10):
        assert client.records_of(client.list_page_raw("contacts", ["email"], limit=10)).results
    assert client.stats.retries > 0


@pytest.mark.sandbox(contacts=60, limits=False)
def test_a_bad_request_is_not_retried(sandbox) -> None:
    client = _client(sandbox)
    with pytest.raises(HubSpotBadRequest) as caught:
        client.search_page("contacts", {"limit": 10, "after": "10000"})
    assert caught.value.status == 400
    assert client.stats.retries == 0 and client.stats.requests == 1


@pytest.mark.sandbox(contacts=60, limits=False)
def test_a_rejected_token_is_an_auth_error_without_the_token(sandbox) -> None:
    client = HubSpotClient("pat-wrong-token-value", sandbox.hubspot_url, retry_policy=FAST_RETRIES)
    with pytest.raises(HubSpotAuthError) as caught:
        client.account_details()
    assert caught.value.status == 401
    assert "pat-wrong-token-value" not in str(caught.value)
    assert client.stats.retries == 0


def test_nobody_listening_is_unavailable_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, max_attempts=3)
    client = HubSpotClient("token", f"http://127.0.0.1:{port}", retry_policy=policy)
    with pytest.raises(HubSpotUnavailable):
        client.account_details()
    assert client.stats.requests == 3 and client.stats.retries == 2


def test_an_unreachable_hubspot_names_the_url_it_tried_and_never_the_token() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, max_attempts=1)
    # credentials in the URL are not ours to print either
    base_url = f"http://someone:url-secret@127.0.0.1:{port}/api?hapikey=query-secret"
    client = HubSpotClient("pat-na1-token-secret", base_url, retry_policy=policy)
    with pytest.raises(HubSpotUnavailable) as caught:
        client.account_details()
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/api" in message
    assert "connection refused" in message
    for secret in ("token-secret", "url-secret", "query-secret", "someone"):
        assert secret not in message


@pytest.mark.sandbox(contacts=300, limits=False)
def test_inline_links_of_a_list_page_equal_an_associations_v4_read(sandbox) -> None:
    client = _client(sandbox)
    raw = client.list_page_raw("calls", ["hs_timestamp"], associations=["contacts"], limit=100)
    page = client.records_of(raw)
    inline = {
        r.id: sorted(a.to_id for a in r.associations["contacts"].to)
        for r in page.results
        if r.associations is not None
    }
    assert len(inline) == len(page.results) == 100
    v4 = {
        s.from_id: sorted(a.to_id for a in s.to)
        for s in client.associations("calls", "contacts", [r.id for r in page.results])
    }
    assert {k: v for k, v in inline.items() if v} == v4
    assert any(inline.values())  # the page has links to compare
    types = {a.type_id for r in page.results for a in r.associations["contacts"].to}  # type: ignore[index]
    assert types == {194}  # the v4 read's HubSpot-defined type id, not a label


@pytest.mark.sandbox(contacts=100, limits=True)
def test_clients_of_one_portal_pace_together_and_are_never_rate_limited(sandbox) -> None:
    """The scheduled sync, the webhook worker and the demo each build a client: HubSpot counts
    their requests together, so together they must stay under the limits."""
    settings = Settings(
        hubspot_access_token=SecretStr(sandbox.token),
        hubspot_base_url=sandbox.hubspot_url,
        _env_file=None,  # type: ignore[call-arg]
    )
    first = hubspot_client.from_settings(settings, retry_policy=FAST_RETRIES)
    second = hubspot_client.from_settings(settings, retry_policy=FAST_RETRIES)
    assert first.pacer is second.pacer
    other = settings.model_copy(update={"hubspot_access_token": SecretStr("pat-other")})
    assert hubspot_client.from_settings(other).pacer is not first.pacer
    # 12 searches from two clients at once: 5 a second between them, none refused
    request = {"limit": 1, "properties": ["email"]}
    threads = [
        threading.Thread(
            target=lambda c=client: [c.search_page("contacts", request) for _ in range(6)]
        )
        for client in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sandbox.emulator.stats.snapshot()["rateLimited"] == 0
    assert first.stats.snapshot()["rate_limited"] + second.stats.snapshot()["rate_limited"] == 0
