"""Track API v2 entities, built exactly as Segment's `buildPayload` does (reference §2.1–2.2).

Each action first turns its payload into an intermediate object; `build_entity` turns that
into the entity. `MISSING` stands for JavaScript's `undefined` inside intermediate objects: the
key keeps its position (so a later assignment lands there, as in JavaScript) but is never sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cdpctl.providers.customerio.dates import convert_attribute_dates, event_time


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

# Keys pulled out of the intermediate object before the rest becomes the entity.
PULLED_KEYS = (
    "convert_timestamp",
    "person_id",
    "anonymous_id",
    "email",
    "object_id",
    "object_type_id",
    "timestamp",
)
BATCHING_KEYS = ("enable_batching", "batch_size")

# ajv-formats' "full" email pattern, which Segment uses to recognise an email person_id.
_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?",
    re.IGNORECASE | re.ASCII,
)


def truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value (`MISSING` is `undefined`)."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value == value and value != 0  # NaN and 0 are falsy
    if isinstance(value, str):
        return value != ""
    return True


def is_email(value: Any) -> bool:
    return isinstance(value, str) and _EMAIL.fullmatch(value) is not None


def resolve_identifiers(
    *,
    person_id: Any = MISSING,
    email: Any = MISSING,
    anonymous_id: Any = MISSING,
    object_id: Any = MISSING,
    object_type_id: Any = MISSING,
) -> Any:
    """The first identifier rule that applies (§2.2), or `MISSING` when none does."""
    if object_type_id is MISSING:
        object_type_id = "1"
    if truthy(object_id) and truthy(object_type_id):
        return {"object_id": object_id, "object_type_id": object_type_id}
    if isinstance(person_id, str) and person_id.startswith("cio_"):
        return {"cio_id": person_id[4:]}
    if is_email(person_id):
        return {"email": person_id}
    if truthy(person_id):
        return {"id": person_id}
    if truthy(email):
        return {"email": email}
    if truthy(anonymous_id):
        return {"anonymous_id": anonymous_id}
    return MISSING


def converts_dates(body: Mapping[str, Any]) -> bool:
    """Segment converts attribute dates only when the key is present and not `false`."""
    return "convert_timestamp" in body and body["convert_timestamp"] is not False


def build_entity(kind: str, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The entity for one intermediate object, key order as Segment produces it."""
    rest = {
        key: value
        for key, value in body.items()
        if key not in PULLED_KEYS and key not in BATCHING_KEYS
    }
    if converts_dates(body):
        rest = convert_attribute_dates(rest)
    if truthy(body.get("timestamp", MISSING)):
        rest["timestamp"] = event_time(body["timestamp"])
    entity: dict[str, Any] = {"type": kind, "action": action, **rest}
    anonymous_id = body.get("anonymous_id", MISSING)
    if truthy(anonymous_id):
        attributes = entity.get("attributes")
        entity["attributes"] = {
            **(attributes if isinstance(attributes, dict) else {}),
            "anonymous_id": anonymous_id,
        }
    if action != "merge":
        entity["identifiers"] = resolve_identifiers(
            person_id=body.get("person_id", MISSING),
            email=body.get("email", MISSING),
            anonymous_id=anonymous_id,
            object_id=body.get("object_id", MISSING),
            object_type_id=body.get("object_type_id", MISSING),
        )
    identifiers = entity.get("identifiers")
    if isinstance(identifiers, dict) and "anonymous_id" in identifiers:
        attributes = entity.get("attributes")
        if isinstance(attributes, dict):
            entity["attributes"] = {k: v for k, v in attributes.items() if k != "anonymous_id"}
    return drop_missing(entity)


def drop_missing(value: Any) -> Any:
    """What `JSON.stringify` keeps: `undefined` object values disappear at every depth."""
    if isinstance(value, dict):
        return {k: drop_missing(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [None if item is MISSING else drop_missing(item) for item in value]
    return value
