"""Writing back to HubSpot: tasks for reps, SLA properties on records, the property group and
definitions those properties need.

Every request takes a slot from the same pacer the sync's reads use (`shared_pacer`, keyed by
the API root and the token), so reads and writes together stay under the portal's rolling
limit instead of each staying under it alone. Property updates go out 100 records per request
(HubSpot's batch limit). A 403 whose category is MISSING_SCOPES becomes `HubSpotMissingScopes`
naming the scopes, which callers treat as final: retrying cannot grant a scope.

Creating a task is not idempotent at HubSpot's end, so it is retried only after a 429 (the
request was refused before anything happened); any other failure goes back to the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hubspot import HubSpot

from integrations.hubspot.errors import HubSpotAuthError, HubSpotError, HubSpotRateLimited
from integrations.hubspot.limiter import RequestPacer, shared_pacer
from integrations.hubspot.retry import RetryPolicy
from integrations.hubspot.transport import JSONObject, Transport

BATCH_UPDATE_SIZE = 100
REQUEST_TIMEOUT = (5.0, 30.0)
WRITABLE_TYPES = ("contacts", "deals")
# HubSpot-defined association type ids, task -> record.
TASK_ASSOCIATION_TYPE = {"contacts": 204, "deals": 216}


class HubSpotMissingScopes(HubSpotAuthError):  # noqa: N818 (named by the design)
    """403 MISSING_SCOPES: the private app lacks `scopes`; an admin must grant them."""

    def __init__(self, what: str, scopes: Sequence[str], correlation_id: str | None) -> None:
        named = ", ".join(scopes) or "a scope HubSpot did not name"
        super().__init__(
            f"HubSpot refused {what}: the private app lacks the scope {named}; "
            "grant it in HubSpot (Settings > Integrations > Private apps) and run "
            "`slaguard hubspot setup`.",
            status=403,
            correlation_id=correlation_id,
        )
        self.scopes = tuple(scopes)


class _WritesOnlyAfter429(RetryPolicy):
    def is_retryable(self, error: HubSpotError) -> bool:
        return isinstance(error, HubSpotRateLimited)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    subject: str
    body: str
    owner_id: str | None
    due_at: datetime
    object_type: str  # contacts | deals
    object_id: str


@dataclass(frozen=True, slots=True)
class PropertySpec:
    name: str
    label: str
    type: str  # enumeration | datetime | number | string
    field_type: str  # select | date | number | text
    description: str = ""
    options: tuple[str, ...] = ()


@dataclass(slots=True)
class BatchOutcome:
    """Records updated, and ids HubSpot could not find (deleted or merged away)."""

    updated: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    requests: int = 0


def hubspot_time(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and Z, as HubSpot writes datetimes."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _missing_scopes(exc: Exception, what: str) -> HubSpotMissingScopes | None:
    if getattr(exc, "status", None) != 403:
        return None
    try:
        body = json.loads(getattr(exc, "body", None) or "{}")
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("category") != "MISSING_SCOPES":
        return None
    scopes: list[str] = []
    for error in body.get("errors") or []:
        context = error.get("context") or {} if isinstance(error, dict) else {}
        for key in ("requiredGranularScopes", "requiredScopes"):
            scopes += [str(s) for s in context.get(key) or []]
    return HubSpotMissingScopes(what, list(dict.fromkeys(scopes)), body.get("correlationId"))


class HubSpotWriter:
    """Typed writes; safe to share between threads."""

    def __init__(
        self,
        access_token: str,
        base_url: str,
        *,
        pacer: RequestPacer,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        sdk = HubSpot(access_token=access_token, host=base_url.rstrip("/"), retry=False)
        self._api = sdk.crm.objects.basic_api.api_client
        self.pacer = pacer
        self.transport = Transport(pacer, retry_policy, base_url=base_url)
        self._create = Transport(pacer, _WritesOnlyAfter429(), base_url=base_url)

    @classmethod
    def for_portal(
        cls,
        access_token: str,
        base_url: str,
        *,
        requests_per_10s: int = 190,
        search_per_second: int = 5,
    ) -> HubSpotWriter:
        """A writer in the same pacing window as the portal's readers in this process."""
        pacer = shared_pacer(access_token, base_url, requests_per_10s, search_per_second)
        return cls(access_token, base_url, pacer=pacer)

    def _call(
        self, what: str, method: str, path: str, body: Any = None, *, once: bool = False
    ) -> JSONObject:
        def send() -> Any:
            try:
                return self._api.call_api(
                    path,
                    method,
                    header_params={
                        "Accept": "application/json",
                        "Content-Type": "application/json",
                    },
                    body=body,
                    auth_settings=["oauth2"],
                    _return_http_data_only=True,
                    _preload_content=False,
                    _request_timeout=REQUEST_TIMEOUT,
                )
            except Exception as exc:
                refused = _missing_scopes(exc, what)
                if refused is not None:
                    raise refused from None
                raise

        return (self._create if once else self.transport).call(what, send)

    # -- tasks ---------------------------------------------------------------------------

    def create_task(self, spec: TaskSpec) -> str:
        """The new task's id. Assigned to the owner, associated with the record."""
        if spec.object_type not in TASK_ASSOCIATION_TYPE:
            raise ValueError(
                f"tasks can be associated with {WRITABLE_TYPES}, not {spec.object_type}"
            )
        properties = {
            "hs_timestamp": hubspot_time(spec.due_at),
            "hs_task_subject": spec.subject,
            "hs_task_body": spec.body,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
            "hs_task_type": "TODO",
        }
        if spec.owner_id:
            properties["hubspot_owner_id"] = spec.owner_id
        link = {
            "to": {"id": spec.object_id},
            "types": [
                {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": TASK_ASSOCIATION_TYPE[spec.object_type],
                }
            ],
        }
        what = f"creating a task on {spec.object_type} {spec.object_id}"
        body = {"properties": properties, "associations": [link]}
        answer = self._call(what, "POST", "/crm/v3/objects/tasks", body, once=True)
        task_id = answer.get("id")
        if not isinstance(task_id, str | int):
            raise HubSpotError(f"HubSpot answered without a task id while {what}.")
        return str(task_id)

    def find_task(self, object_type: str, object_id: str, marker: str) -> str | None:
        """The id of a task on the record whose body contains `marker`, or None: after an
        attempt that got no answer, HubSpot may hold the task that attempt created."""
        linked = self._call(
            f"reading the tasks of {object_type} {object_id}",
            "POST",
            f"/crm/v4/associations/{object_type}/tasks/batch/read",
            {"inputs": [{"id": object_id}]},
        )
        ids = [
            str(link.get("toObjectId"))
            for result in linked.get("results") or []
            for link in result.get("to") or []
        ]
        for chunk in _chunks(ids, BATCH_UPDATE_SIZE):
            tasks = self._call(
                f"reading {len(chunk)} tasks",
                "POST",
                "/crm/v3/objects/tasks/batch/read",
                {"inputs": [{"id": i} for i in chunk], "properties": ["hs_task_body"]},
            )
            for task in tasks.get("results") or []:
                if marker in str((task.get("properties") or {}).get("hs_task_body") or ""):
                    return str(task.get("id"))
        return None

    def complete_task(self, task_id: str) -> None:
        """Marks the task done (idempotent: completing a completed task changes nothing)."""
        body = {"properties": {"hs_task_status": "COMPLETED"}}
        self._call(f"completing task {task_id}", "PATCH", f"/crm/v3/objects/tasks/{task_id}", body)

    # -- properties ----------------------------------------------------------------------

    def batch_update(
        self, object_type: str, updates: Mapping[str, Mapping[str, str | None]]
    ) -> BatchOutcome:
        """Sets properties on many records, 100 per request."""
        if object_type not in WRITABLE_TYPES:
            raise ValueError(f"batch updates go to {WRITABLE_TYPES}, not {object_type}")
        outcome = BatchOutcome()
        for chunk in _chunks(list(updates.items()), BATCH_UPDATE_SIZE):
            inputs = [{"id": rid, "properties": dict(values)} for rid, values in chunk]
            answer = self._call(
                f"updating {len(inputs)} {object_type}",
                "POST",
                f"/crm/v3/objects/{object_type}/batch/update",
                {"inputs": inputs},
            )
            outcome.requests += 1
            outcome.updated += [str(r.get("id")) for r in answer.get("results") or []]
            for error in answer.get("errors") or []:
                outcome.missing += [str(i) for i in (error.get("context") or {}).get("ids", [])]
        return outcome

    def has_group(self, object_type: str, name: str) -> bool:
        listed = self._call(
            f"listing {object_type} property groups",
            "GET",
            f"/crm/v3/properties/{object_type}/groups",
        )
        return name in {g.get("name") for g in listed.get("results") or []}

    def ensure_group(self, object_type: str, name: str, label: str) -> bool:
        """Creates the property group unless it exists; True when it was created."""
        if self.has_group(object_type, name):
            return False
        self._call(
            f"creating the {object_type} property group {name}",
            "POST",
            f"/crm/v3/properties/{object_type}/groups",
            {"name": name, "label": label},
        )
        return True

    def missing_properties(self, object_type: str, specs: Sequence[PropertySpec]) -> list[str]:
        """Names of `specs` the portal does not define yet."""
        listed = self._call(
            f"listing {object_type} properties", "GET", f"/crm/v3/properties/{object_type}"
        )
        present = {p.get("name") for p in listed.get("results") or []}
        return [spec.name for spec in specs if spec.name not in present]

    def create_property(self, object_type: str, group: str, spec: PropertySpec) -> None:
        body: dict[str, Any] = {
            "name": spec.name,
            "label": spec.label,
            "type": spec.type,
            "fieldType": spec.field_type,
            "groupName": group,
            "description": spec.description,
        }
        if spec.options:
            body["options"] = [
                {"label": o.replace("_", " "), "value": o, "displayOrder": i}
                for i, o in enumerate(spec.options)
            ]
        self._call(
            f"creating the {object_type} property {spec.name}",
            "POST",
            f"/crm/v3/properties/{object_type}",
            body,
        )


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
