"""Every route against its OpenAPI schema with schemathesis and all its checks: documented
statuses, content types and bodies, no 5xx, schema-valid data accepted and invalid data
refused. Webhook requests are signed as HubSpot signs them (a `before_call` hook), the admin
token is sent, and the run is derandomized and bounded (CI runs it in `make test`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.transport.asgi import ASGI_TRANSPORT

from app.config import Settings
from app.main import create_app
from integrations.hubspot.signature import compute_signature_v3
from tests.fixtures.api import ADMIN_TOKEN
from tests.fixtures.webhooks import PORTAL, SECRET

WEBHOOK_PATH = "/webhooks/hubspot"
load_all_checks()
ALL_CHECKS = list(CHECKS.get_all())  # `--checks all`
# The checks as configured by default, except that 413 (too many events in one request)
# counts as refusing data that breaks the schema's maxItems.
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
)
PUBLIC_URL = "https://hooks.example.com"


def sent_body(case: schemathesis.Case) -> bytes:
    """The bytes the transport will send for `case` (what HubSpot would have signed)."""
    data = ASGI_TRANSPORT.serialize_case(case)
    if "json" in data:
        text: str = requests.compat.json.dumps(data["json"], allow_nan=False)
        return text.encode()
    raw = data.get("data", b"")
    return raw if isinstance(raw, bytes) else str(raw).encode()


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    if case.operation.path == WEBHOOK_PATH:
        body = sent_body(case)
        timestamp = str(time.time_ns() // 1_000_000)
        uri = PUBLIC_URL + WEBHOOK_PATH
        case.headers = {
            **(case.headers or {}),
            "X-HubSpot-Signature-v3": compute_signature_v3(SECRET, "POST", uri, body, timestamp),
            "X-HubSpot-Request-Timestamp": timestamp,
        }


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    configured = settings.model_copy(
        update={
            "hubspot_client_secret": SecretStr(SECRET),
            "hubspot_portal_ids": [PORTAL],
            "slaguard_admin_token": SecretStr(ADMIN_TOKEN),
            "slaguard_public_url": PUBLIC_URL,
        }
    )
    application = create_app(configured, start_scheduler=False)
    with TestClient(application):  # the lifespan opens the store
        yield application


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_route_keeps_to_its_schema(app: FastAPI, mode: GenerationMode) -> None:
    # The schema comes from the running application, as a client would read it.
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {WEBHOOK_PATH, "/metrics", "/admin/health"}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_its_schema(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, checks=ALL_CHECKS
            )
            if case.operation.path == WEBHOOK_PATH:
                # Every webhook request is signed: a 401 means the hook signed other bytes.
                assert response.status_code != 401, response.text

        keeps_to_its_schema()


def _has_input(operation: Any) -> bool:
    parameters = (operation.path_parameters, operation.query, operation.headers, operation.cookies)
    return bool(len(operation.body) or any(len(group) for group in parameters))
