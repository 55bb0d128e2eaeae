"""Over HTTPS the sender connects to the address it checked and still verifies the
certificate against the URL's host name (not against the address)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.webhooks.sender import Outcome, WebhookSender
from integrations.webhooks.signing import WebhookSecret
from tests.integrations.webhooks.receiver import Receiver

HOST = "hooks.example.test"
BODY = json.dumps({"type": "sla.breached"}).encode()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    where = tmp_path_factory.mktemp("tls")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        cwd=where,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={HOST}",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=where,
    )
    (where / "san.ext").write_text(f"subjectAltName=DNS:{HOST}\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
        cwd=where,
    )
    return where


@pytest.fixture
def tls_receiver(certificates: Path) -> Iterator[Receiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    server = Receiver(tls=context).start()
    yield server
    server.stop()


def trusting(certificates: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificates / "ca.pem"))


def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_https_reaches_the_checked_address_with_the_certificate_of_the_name(
    certificates: Path, tls_receiver: Receiver
) -> None:
    with WebhookSender(
        allow_private=True, resolver=to_loopback, verify=trusting(certificates)
    ) as sender:
        url = f"https://{HOST}:{tls_receiver.port}/hooks"
        result = sender.send(url, "msg_tls", BODY, [WebhookSecret.generate()])

    assert result.outcome is Outcome.DELIVERED, result.error
    (got,) = tls_receiver.requests
    assert got.headers["host"] == f"{HOST}:{tls_receiver.port}"


def test_a_certificate_for_another_name_is_not_accepted(
    certificates: Path, tls_receiver: Receiver
) -> None:
    with WebhookSender(
        allow_private=True, resolver=to_loopback, verify=trusting(certificates)
    ) as sender:
        url = f"https://other.example.test:{tls_receiver.port}/hooks"
        result = sender.send(url, "msg_tls", BODY, [WebhookSecret.generate()])

    assert result.outcome is Outcome.RETRY
    assert tls_receiver.requests == []
