"""Rate limits and injected faults, seen by HubSpot's client and by raw HTTP."""

from __future__ import annotations

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest


def _client(sandbox):
    # urllib3 retries a 429 that carries Retry-After by itself; switch that off to see it.
    return HubSpot(access_token=sandbox.token, host=sandbox.hubspot_url, retry=False)


def _headers(sandbox):
    return {"Authorization": f"Bearer {sandbox.token}"}


def test_every_answer_carries_rate_limit_headers(sandbox):
    answer = httpx.get(f"{sandbox.hubspot_url}/crm/v3/owners", headers=_headers(sandbox))
    assert answer.status_code == 200
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert answer.headers["X-HubSpot-RateLimit-Remaining"] == "189"
    assert answer.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "X-HubSpot-RateLimit-Daily-Remaining" in answer.headers


def test_client_sees_429_past_the_ten_second_limit(sandbox):
    sandbox.emulator.settings.limits.per_ten_seconds = 5
    client = _client(sandbox)
    for _ in range(5):
        client.crm.contacts.basic_api.get_page(limit=1)
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.get_page(limit=1)
    assert caught.value.status == 429
    assert '"policyName":"TEN_SECONDLY_ROLLING"' in caught.value.body
    assert '"errorType":"RATE_LIMIT"' in caught.value.body
    assert int(caught.value.headers["Retry-After"]) >= 1
    assert sandbox.emulator.stats.snapshot()["rateLimited"] == 1


def test_search_has_its_own_limit_of_five_per_second(sandbox):
    client = _client(sandbox)
    statuses = []
    for _ in range(8):
        try:
            client.crm.contacts.search_api.do_search(
                public_object_search_request=PublicObjectSearchRequest(limit=1)
            )
            statuses.append(200)
        except ApiException as exc:
            statuses.append(exc.status)
            assert '"policyName":"SECONDLY"' in exc.body
    # Eight searches cannot all fit in one second's five, whatever the machine's speed.
    assert 429 in statuses
    assert statuses[:5] == [200] * 5


@pytest.mark.sandbox(limits=False)
def test_limits_switched_off_never_refuse(sandbox):
    with httpx.Client(headers=_headers(sandbox)) as http:
        statuses = {
            http.get(f"{sandbox.hubspot_url}/crm/v3/owners").status_code for _ in range(200)
        }
    assert statuses == {200}


def test_limits_can_be_changed_over_the_control_api(sandbox):
    answer = httpx.post(f"{sandbox.control_url}/limits", json={"perTenSeconds": 2})
    assert answer.json()["per_ten_seconds"] == 2
    with httpx.Client(headers=_headers(sandbox)) as http:
        statuses = [http.get(f"{sandbox.hubspot_url}/crm/v3/owners").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.sandbox(fault_rate=0.3, limits=False, seed=7)
def test_seeded_faults_answer_502_503_504(sandbox):
    with httpx.Client(headers=_headers(sandbox)) as http:
        statuses = [
            http.get(f"{sandbox.hubspot_url}/crm/v3/owners").status_code for _ in range(100)
        ]
    faults = [s for s in statuses if s != 200]
    assert set(faults) <= {502, 503, 504}
    assert 10 <= len(faults) <= 50
    assert sandbox.emulator.stats.snapshot()["faults"] == len(faults)


def test_fault_sequence_repeats_for_the_same_seed(sandbox_factory):
    runs = []
    for _ in range(2):
        sandbox = sandbox_factory(fault_rate=0.5, limits=False, seed=3, contacts=100)
        with httpx.Client(headers=_headers(sandbox)) as http:
            runs.append(
                [http.get(f"{sandbox.hubspot_url}/crm/v3/owners").status_code for _ in range(30)]
            )
    assert runs[0] == runs[1]


def test_slow_answers_make_an_impatient_client_time_out(sandbox):
    faults = sandbox.emulator.settings.faults
    faults.slow_rate, faults.slow_seconds = 1.0, 3.0
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{sandbox.hubspot_url}/crm/v3/owners", headers=_headers(sandbox), timeout=0.2)
