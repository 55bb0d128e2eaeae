"""What an integration may add to the emulated portal: property groups, custom properties, and
the scopes its private app was granted.

Kept beside the emulator (one `WriteState` per emulator) rather than inside it, so the read-only
emulator stays as it was. Scopes default to every scope the write endpoints check; a test takes
one away to see HubSpot's 403 MISSING_SCOPES.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sandbox.hubspot.errors import HubSpotError, bad_request
from sandbox.portal.catalog import DEFINITION_BY_NAME, PropertyDefinition

SCOPES_LINK = "https://developers.hubspot.com/scopes"
WRITE_SCOPES = frozenset(
    {
        "crm.objects.contacts.write",
        "crm.objects.deals.write",
        "crm.schemas.contacts.write",
        "crm.schemas.deals.write",
    }
)
PROPERTY_TYPES = {
    "string": {"text", "textarea"},
    "number": {"number"},
    "datetime": {"date"},
    "date": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}


@dataclass
class Group:
    name: str
    label: str
    display_order: int = -1

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": False,
        }


@dataclass
class WriteState:
    """Custom groups and properties per object type, and the granted scopes."""

    groups: dict[str, dict[str, Group]] = field(default_factory=dict)
    properties: dict[str, dict[str, PropertyDefinition]] = field(default_factory=dict)
    scopes: set[str] = field(default_factory=lambda: set(WRITE_SCOPES))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def definition(self, object_type: str, name: str) -> PropertyDefinition | None:
        custom = self.properties.get(object_type, {}).get(name)
        return custom or DEFINITION_BY_NAME.get(object_type, {}).get(name)

    def custom_properties(self, object_type: str) -> list[PropertyDefinition]:
        with self.lock:
            return list(self.properties.get(object_type, {}).values())

    def add_group(self, object_type: str, body: dict[str, Any]) -> Group:
        name, label = _text(body, "name"), _text(body, "label")
        with self.lock:
            groups = self.groups.setdefault(object_type, {})
            if name in groups:
                raise HubSpotError(
                    409,
                    f"A property group named '{name}' already exists.",
                    "CONFLICT",
                    {"subCategory": "PropertyGroupError.GROUP_ALREADY_EXISTS"},
                )
            group = Group(name, label, int(body.get("displayOrder", -1)))
            groups[name] = group
            return group

    def list_groups(self, object_type: str) -> list[Group]:
        with self.lock:
            return list(self.groups.get(object_type, {}).values())

    def add_property(self, object_type: str, body: dict[str, Any]) -> PropertyDefinition:
        definition = _definition(body)
        with self.lock:
            if definition.group not in self.groups.get(object_type, {}) and not _builtin_group(
                object_type, definition.group
            ):
                raise bad_request(f"Property group '{definition.group}' does not exist.")
            if self.definition(object_type, definition.name) is not None:
                raise HubSpotError(
                    409,
                    f"A property named '{definition.name}' already exists.",
                    "OBJECT_ALREADY_EXISTS",
                    {"subCategory": "PropertyValidationError.PROPERTY_ALREADY_EXISTS"},
                )
            self.properties.setdefault(object_type, {})[definition.name] = definition
            return definition


def _builtin_group(object_type: str, group: str) -> bool:
    return any(d.group == group for d in DEFINITION_BY_NAME.get(object_type, {}).values())


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"'{key}' is required and must be a non-empty string.")
    return value.strip()


def _definition(body: dict[str, Any]) -> PropertyDefinition:
    name, label = _text(body, "name"), _text(body, "label")
    kind, field_type = _text(body, "type"), _text(body, "fieldType")
    group = _text(body, "groupName")
    if kind not in PROPERTY_TYPES:
        raise bad_request(f"'{kind}' is not a valid property type.")
    if field_type not in PROPERTY_TYPES[kind]:
        raise bad_request(f"fieldType '{field_type}' does not go with type '{kind}'.")
    options: list[tuple[str, str]] = []
    for option in body.get("options") or []:
        if not isinstance(option, dict) or "value" not in option or "label" not in option:
            raise bad_request("Each option needs a 'label' and a 'value'.")
        options.append((str(option["value"]), str(option["label"])))
    if kind == "enumeration" and not options:
        raise bad_request("An enumeration property needs at least one option.")
    return PropertyDefinition(name, label, kind, field_type, group, tuple(options), False)


def invalid_value(definition: PropertyDefinition, value: str | None) -> str | None:
    """Why `value` cannot be stored in the property (None: it can). Empty clears it."""
    if value is None or value == "":
        return None
    if definition.type == "enumeration":
        allowed = {option for option, _ in definition.options}
        if value not in allowed:
            return f"{value} was not one of the allowed options: {sorted(allowed)}"
    if definition.type == "number":
        try:
            float(value)
        except ValueError:
            return f"{value} is not a valid number"
    if definition.type in ("datetime", "date") and not (value.isdigit() or "T" in value):
        return f"{value} is not a valid date (epoch milliseconds or ISO-8601)"
    return None


def missing_scopes(scopes: list[str]) -> HubSpotError:
    """HubSpot's 403 for a private app without the scope a call needs."""
    return HubSpotError(
        403,
        "This app hasn't been granted all required scopes to make this call. "
        f"Read more about required scopes here: {SCOPES_LINK}.",
        "MISSING_SCOPES",
        {
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": scopes},
                }
            ],
            "links": {"scopes": SCOPES_LINK},
        },
    )


_states: weakref.WeakKeyDictionary[object, WriteState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def write_state(emulator: object) -> WriteState:
    """The write-side state of one emulator (made on first use)."""
    with _states_lock:
        state = _states.get(emulator)
        if state is None:
            state = _states[emulator] = WriteState()
        return state
