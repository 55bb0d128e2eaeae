"""The address guard: only http(s), no internal addresses unless allowed, checked at config
time and again at every connection on every address the name resolves to."""

from __future__ import annotations

import json

import pytest

from integrations.webhooks.guard import AddressRefused, check_url, vetted_addresses
from integrations.webhooks.sender import Outcome, WebhookSender
from integrations.webhooks.signing import WebhookSecret
from tests.integrations.webhooks.receiver import Receiver

BODY = json.dumps({"type": "sla.breached"}).encode()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "hooks.example.com/no-scheme",
        "http:///no-host",
        "https://user:pw@hooks.example.com/",
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://localhost:8000/",
        "http://api.localhost/",
    ],
)
def test_internal_or_non_http_urls_are_refused_in_the_config(url: str) -> None:
    with pytest.raises(AddressRefused):
        check_url(url, allow_private=False)


def test_public_urls_pass_the_config_check() -> None:
    check_url("https://hooks.example.com/slaguard", allow_private=False)
    check_url("http://93.184.216.34:8080/x", allow_private=False)


def test_allow_private_admits_internal_addresses_but_still_only_http() -> None:
    check_url("http://127.0.0.1:8080/", allow_private=True)
    with pytest.raises(AddressRefused):
        check_url("ftp://127.0.0.1/", allow_private=True)


def test_a_name_with_one_internal_address_among_public_ones_is_refused() -> None:
    def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(AddressRefused, match=r"10\.0\.0\.5"):
        vetted_addresses("https://hooks.example.com/", allow_private=False, resolver=rebinding)


def test_at_connect_time_a_name_resolving_to_loopback_is_refused_without_a_request(
    receiver: Receiver,
) -> None:
    with WebhookSender(allow_private=False) as sender:
        result = sender.send(
            f"http://localhost:{receiver.port}/hooks", "msg_1", BODY, [WebhookSecret.generate()]
        )

    assert result.outcome is Outcome.REFUSED
    assert result.error is not None and "internal address" in result.error
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(receiver: Receiver) -> None:
    def hooks_host(host: str, port: int) -> list[str]:
        assert host == "hooks.example.test"
        return ["127.0.0.1"]

    with WebhookSender(allow_private=True, resolver=hooks_host) as sender:
        url = f"http://hooks.example.test:{receiver.port}/hooks"
        result = sender.send(url, "msg_pinned", BODY, [WebhookSecret.generate()])

    assert result.outcome is Outcome.DELIVERED
    (got,) = receiver.requests
    assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
