"""The HubSpot client slaguard uses: `hubspot-api-client` pointed at a base URL (HubSpot's, or
a stand-in's), paced, retried, returning typed records parsed from the raw JSON. It takes plain
values (token, base URL, limits), never an application's settings.

Every API object is built once (the SDK builds a new ApiClient and connection pool on each
attribute access). urllib3's own retries are off: the transport paces, counts and retries
every attempt itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from hubspot import HubSpot

from integrations.hubspot import parsing
from integrations.hubspot.limiter import RequestPacer, TimeSource, shared_pacer
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
from integrations.hubspot.retry import RetryPolicy
from integrations.hubspot.transport import JSONObject, RequestStats, Transport

LIST_PAGE_SIZE = 100
LIST_HISTORY_PAGE_SIZE = 50  # a list page asking for property history holds at most 50
SEARCH_PAGE_SIZE = 200
BATCH_READ_SIZE = 100
ASSOCIATION_BATCH_SIZE = 1000
# (connect, read) seconds; a search over a large portal can take a while to answer.
REQUEST_TIMEOUT = (5.0, 60.0)

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class HubSpotClient:
    """Typed access to the endpoints the sync needs. Safe to share between threads."""

    def __init__(
        self,
        access_token: str,
        base_url: str,
        *,
        requests_per_10s: int = 190,
        search_per_second: int = 5,
        retry_policy: RetryPolicy | None = None,
        time_source: TimeSource | None = None,
        pool_size: int = 8,
        pacer: RequestPacer | None = None,
    ) -> None:
        sdk = HubSpot(
            access_token=access_token,
            host=base_url.rstrip("/"),
            retry=False,
            connection_pool_maxsize=pool_size,
        )
        self._objects = sdk.crm.objects.basic_api
        self._search = sdk.crm.objects.search_api
        self._batch = sdk.crm.objects.batch_api
        self._owners = sdk.crm.owners.owners_api
        self._pipelines = sdk.crm.pipelines.pipelines_api
        self._properties = sdk.crm.properties.core_api
        self._associations = sdk.crm.associations.v4.batch_api
        self.pacer = pacer or RequestPacer(
            requests_per_10s, search_per_second, time_source=time_source
        )
        self.transport = Transport(
            self.pacer, retry_policy, time_source=time_source, base_url=base_url
        )

    @classmethod
    def for_portal(
        cls,
        access_token: str,
        base_url: str,
        *,
        requests_per_10s: int = 190,
        search_per_second: int = 5,
        **kwargs: Any,
    ) -> HubSpotClient:
        """A client whose requests are paced in one window with every other client this
        process builds for the same portal (base URL and token): HubSpot counts them together.
        A `time_source` or `pacer` passed in replaces the shared window."""
        if "time_source" not in kwargs and "pacer" not in kwargs:
            kwargs["pacer"] = shared_pacer(
                access_token, base_url, requests_per_10s, search_per_second
            )
        return cls(
            access_token,
            base_url,
            requests_per_10s=requests_per_10s,
            search_per_second=search_per_second,
            **kwargs,
        )

    @property
    def stats(self) -> RequestStats:
        return self.transport.stats

    def _get(self, what: str, send: Callable[..., Any], *, search: bool = False) -> JSONObject:
        return self.transport.call(
            what,
            lambda: send(_preload_content=False, _request_timeout=REQUEST_TIMEOUT),
            search=search,
        )

    def _post(self, what: str, method: Callable[..., Any], *args: Any) -> JSONObject:
        return self._get(what, lambda **kw: method(*args, **kw))

    def _parsed(self, build: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        try:
            return build(*args)
        finally:
            self.stats.add(parse_seconds=time.perf_counter() - started)

    # -- portal ------------------------------------------------------------------------

    def account_details(self) -> AccountDetails:
        api_client = self._objects.api_client
        body = self._get(
            "reading the account details",
            lambda **kw: api_client.call_api(
                "/account-info/v3/details",
                "GET",
                header_params={"Accept": "application/json"},
                auth_settings=["oauth2"],
                _return_http_data_only=True,
                **kw,
            ),
        )
        return self._parsed(parsing.account_details, body)

    def owners_page(self, *, after: str | None = None, archived: bool = False) -> Page[OwnerRecord]:
        body = self._get(
            "listing owners",
            lambda **kw: self._owners.get_page(
                limit=LIST_PAGE_SIZE, after=after, archived=archived, **kw
            ),
        )
        return self._parsed(parsing.owner_page, body)

    def pipelines(self, object_type: str = "deals") -> list[PipelineRecord]:
        body = self._get(
            f"reading the {object_type} pipelines",
            lambda **kw: self._pipelines.get_all(object_type, **kw),
        )
        return self._parsed(parsing.pipelines, body)

    def property_definition(self, object_type: str, name: str) -> PropertyDefinition:
        body = self._get(
            f"reading the {object_type} property {name}",
            lambda **kw: self._properties.get_by_name(object_type, name, **kw),
        )
        return self._parsed(parsing.property_definition, body)

    # -- CRM records ---------------------------------------------------------------------

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
    ) -> RawPage:
        """One page of `GET /crm/v3/objects/{type}` (live or archived records). With
        `associations`, each record carries its links of those types (`CrmRecord.associations`),
        which saves an associations v4 read per page. With `properties_with_history`, records
        carry those histories and a page holds at most 50 (HubSpot's cap)."""
        asked = tuple(associations)
        # Lists go as one comma-separated value each (HubSpot's documented form): the SDK
        # would repeat the parameter per name and URL-quote each one (~50 names a page).
        extra: dict[str, Any] = {"associations": [",".join(asked)]} if asked else {}
        if properties_with_history:
            extra["properties_with_history"] = [",".join(properties_with_history)]
        if limit is None:
            limit = LIST_HISTORY_PAGE_SIZE if properties_with_history else LIST_PAGE_SIZE
        body = self._get(
            f"listing {'archived ' if archived else ''}{object_type}",
            lambda **kw: self._objects.get_page(
                object_type,
                limit=limit,
                after=after,
                properties=[",".join(properties)],
                archived=archived,
                **extra,
                **kw,
            ),
        )
        return self._parsed(parsing.raw_crm_page, object_type, body, asked)

    def search_page(self, object_type: str, request: JSONObject) -> Page[CrmRecord]:
        """`search_page_raw` with its records built."""
        return self.records_of(self.search_page_raw(object_type, request))

    def search_page_raw(self, object_type: str, request: JSONObject) -> RawPage:
        """One `POST /crm/v3/objects/{type}/search`; `request` is the documented JSON body."""
        body = self._get(
            f"searching {object_type}",
            lambda **kw: self._search.do_search(object_type, request, **kw),
            search=True,
        )
        return self._parsed(parsing.raw_crm_page, object_type, body)

    def records_of(self, raw: RawPage) -> Page[CrmRecord]:
        """The records of a page read raw (safe on any thread)."""
        return self._parsed(parsing.crm_page_of, raw)

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str] = (),
        properties_with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> list[CrmRecord]:
        """Records by id, `BATCH_READ_SIZE` per request, with their current properties and the
        history of `properties_with_history` (newest first). Unknown ids are left out; a
        merged-away id answers with the record it was merged into."""
        records, _ = self.batch_read_with_missing(
            object_type,
            ids,
            properties=properties,
            properties_with_history=properties_with_history,
            archived=archived,
        )
        return records

    def batch_read_with_missing(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str] = (),
        properties_with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> tuple[list[CrmRecord], list[str]]:
        """`batch_read`, and the ids HubSpot answered OBJECT_NOT_FOUND for (deleted, never
        existed, or archived when live records were asked for)."""
        records: list[CrmRecord] = []
        missing: list[str] = []
        for chunk in chunked(list(dict.fromkeys(ids)), BATCH_READ_SIZE):
            request = {
                "inputs": [{"id": record_id} for record_id in chunk],
                "properties": list(properties),
                "propertiesWithHistory": list(properties_with_history),
            }
            body = self._get(
                f"batch-reading {object_type}",
                lambda request=request, **kw: self._batch.read(
                    object_type, request, archived=archived, **kw
                ),
            )
            records.extend(self._parsed(parsing.batch_records, object_type, body))
            missing.extend(parsing.not_found_ids(body))
        return records, missing

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> list[AssociationSet]:
        """Every `to_type` record linked to each of `ids` (associations v4 batch read)."""
        sets: list[AssociationSet] = []
        for chunk in chunked(list(dict.fromkeys(ids)), ASSOCIATION_BATCH_SIZE):
            request = {"inputs": [{"id": record_id} for record_id in chunk]}
            body = self._post(
                f"reading {from_type} → {to_type} associations",
                self._associations.get_page,
                from_type,
                to_type,
                request,
            )
            sets.extend(self._parsed(parsing.association_sets, body))
        return sets
