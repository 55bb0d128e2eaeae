"""The app's side of the HubSpot client: building one from the settings, and the surface the
sync and the webhook worker read HubSpot through.

`integrations/hubspot` knows nothing of slaguard's settings or errors; this module is where
the two meet. Code that reads HubSpot takes a `HubSpotApi`, so a test or the sandbox can
stand in for the real client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from app.config import Settings
from app.errors import ConfigError
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.records import (
    AccountDetails,
    AssociationSet,
    CrmRecord,
    OwnerRecord,
    Page,
    PipelineRecord,
    PropertyDefinition,
    RawPage,
)
from integrations.hubspot.transport import JSONObject, RequestStats


class HubSpotApi(Protocol):
    """What slaguard reads from HubSpot (`HubSpotClient` is the real one)."""

    @property
    def stats(self) -> RequestStats: ...

    def account_details(self) -> AccountDetails: ...

    def owners_page(
        self, *, after: str | None = None, archived: bool = False
    ) -> Page[OwnerRecord]: ...

    def pipelines(self, object_type: str = "deals") -> list[PipelineRecord]: ...

    def property_definition(self, object_type: str, name: str) -> PropertyDefinition: ...

    def list_page_raw(
        self,
        object_type: str,
        properties: Sequence[str],
        *,
        after: str | None = None,
        archived: bool = False,
        limit: int | None = None,
        associations: Sequence[str] = (),
        properties_with_history: Sequence[str] = (),
    ) -> RawPage: ...

    def search_page(self, object_type: str, request: JSONObject) -> Page[CrmRecord]: ...

    def search_page_raw(self, object_type: str, request: JSONObject) -> RawPage: ...

    def records_of(self, raw: RawPage) -> Page[CrmRecord]: ...

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str] = (),
        properties_with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> list[CrmRecord]: ...

    def batch_read_with_missing(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str] = (),
        properties_with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> tuple[list[CrmRecord], list[str]]: ...

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> list[AssociationSet]: ...


def from_settings(settings: Settings, **kwargs: Any) -> HubSpotClient:
    """A client for the configured portal; every such client of this process paces its
    requests in one shared window (see `HubSpotClient.for_portal`). `kwargs` go to the client
    (a retry policy, a time source)."""
    if settings.hubspot_access_token is None:
        raise ConfigError("HUBSPOT_ACCESS_TOKEN is not set; slaguard cannot read HubSpot.")
    return HubSpotClient.for_portal(
        settings.hubspot_access_token.get_secret_value(),
        settings.hubspot_base_url,
        requests_per_10s=settings.hubspot_requests_per_10s,
        search_per_second=settings.hubspot_search_per_second,
        **kwargs,
    )
