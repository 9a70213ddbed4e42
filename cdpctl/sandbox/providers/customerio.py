"""Customer.io Track API emulation: people keyed by their identifiers (attribute upserts
merge), objects and relationships, devices, events, page and screen views, suppressions,
merges, deletions and delivery metrics.

Credentials: Basic auth with siteId `sandbox-cio-site` and apiKey `sandbox-cio-key`; anything
else gets Customer.io's 401 `{"meta":{"error":"Unauthorized request"}}`. Entities are checked
the way the Track API does (identifiers, names, timestamps, attribute limits): `/api/v2/entity`
answers 400 `{"errors":[…]}`, `/api/v2/batch` answers 207 with the failed `batch_index`es.
With the `partial_rate` fault, valid batch items are also refused, unapplied, with the
retryable error `TRANSIENT_ITEM_ERROR` in the same 207 shape.

Receipts (`GET /_sandbox/receipts` → customerio), one per entity applied (a batch's refused
items get none):
- events, page and screen views and content clicks/views: `<action> <id>` when the entity
  carries an event `id` (Customer.io de-duplicates on it), else
  `<action> <identifier> <name> #<digest of the entity>`;
- other person actions: `<action> <identifier>` (identifier as `id:…`, `email:…`, `cio_id:…`),
  devices `<action> <identifier> <token>`, merges `merge <primary> <- <secondary>`;
- objects: `object <action> <object_type_id>/<object_id>`;
- delivery metrics: `metric <delivery_id> <metric>`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cdpctl import jsonwire
from cdpctl.providers.customerio.api import (
    AUTH,
    BATCH,
    DELIVERY_METRICS,
    ENTITY,
    MAX_ATTRIBUTE_NAME_BYTES,
    MAX_ATTRIBUTE_VALUE_BYTES,
    MAX_ATTRIBUTES,
    MAX_BATCH_BYTES,
    MAX_EVENT_DATA_BYTES,
    MAX_EVENT_NAME_BYTES,
    RATE_LIMIT,
)
from cdpctl.sandbox.emulator import (
    Emulator,
    Route,
    SandboxRequest,
    SandboxResponse,
    digest,
    json_response,
)

SITE_ID = "sandbox-cio-site"
API_KEY = "sandbox-cio-key"
UNAUTHORIZED = {"meta": {"error": "Unauthorized request"}}

PERSON_ACTIONS = frozenset(
    {
        "identify",
        "delete",
        "event",
        "page",
        "screen",
        "add_device",
        "delete_device",
        "merge",
        "suppress",
        "unsuppress",
        "viewed_content",
        "clicked_content",
    }
)
OBJECT_ACTIONS = frozenset({"identify", "identify_anonymous", "delete", "delete_relationships"})
# Actions that may name an anonymous visitor instead of a person.
ANONYMOUS_ACTIONS = frozenset({"event", "page", "screen", "viewed_content", "clicked_content"})
EVENT_LISTS = {
    "event": "events",
    "viewed_content": "events",
    "clicked_content": "events",
    "page": "page_views",
    "screen": "screen_views",
}
PERSON_KEYS = ("id", "email", "cio_id")
PLATFORMS = ("ios", "android")
METRICS = (
    "delivered",
    "opened",
    "clicked",
    "converted",
    "spammed",
    "bounced",
    "dropped",
    "deferred",
)

Problem = dict[str, str]

# What the `partial_rate` fault answers for a refused valid batch item (Customer.io documents
# the 207 shape, not its reasons; this one says to retry).
TRANSIENT_ITEM_ERROR = {
    "reason": "temporarily_unavailable",
    "field": "",
    "message": "sandbox: the item could not be processed now; retry this item",
}


def _initial_state() -> dict[str, Any]:
    return {
        "people": {},
        "objects": {},
        "events": [],
        "page_views": [],
        "screen_views": [],
        "event_ids": [],
        "suppressions": [],
        "merges": [],
        "deletions": [],
        "metrics": [],
        "next_id": 0,
    }


def _authenticate(request: SandboxRequest) -> SandboxResponse | None:
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if scheme == "Basic" and decoded == f"{SITE_ID}:{API_KEY}":
        return None
    return json_response(401, UNAUTHORIZED)


def _problem(field: str, message: str, reason: str = "invalid") -> Problem:
    return {"reason": reason, "field": field, "message": message}


def _size(value: Any) -> int:
    return len(value.encode()) if isinstance(value, str) else len(jsonwire.dumps(value))


# --- validation -----------------------------------------------------------------------------


def _person_identifier_problem(
    identifiers: Any, field: str, *, anonymous: bool = False
) -> Problem | None:
    allowed = PERSON_KEYS + (("anonymous_id",) if anonymous else ())
    if not isinstance(identifiers, dict) or not identifiers:
        return _problem(field, f"{field} is required", "required")
    keys = [key for key in identifiers if key in allowed]
    if len(keys) != 1 or len(identifiers) != 1:
        return _problem(field, f"{field} must hold exactly one of: {', '.join(allowed)}")
    value = identifiers[keys[0]]
    if not isinstance(value, str):
        return _problem(f"{field}.{keys[0]}", f"{keys[0]} attribute must be a string value")
    if not value:
        return _problem(f"{field}.{keys[0]}", f"{keys[0]} attribute cannot be an empty string")
    return None


def _object_identifier_problem(identifiers: Any) -> Problem | None:
    if not isinstance(identifiers, dict) or not identifiers:
        return _problem("identifiers", "identifiers is required", "required")
    for key in ("object_id", "object_type_id"):
        value = identifiers.get(key)
        if not isinstance(value, str) or not value:
            return _problem(f"identifiers.{key}", f"{key} must be a non-empty string")
    return None


def _attribute_problem(attributes: Any) -> Problem | None:
    if attributes is None:
        return None
    if not isinstance(attributes, dict):
        return _problem("attributes", "attributes must be an object")
    if len(attributes) > MAX_ATTRIBUTES:
        return _problem(
            "attributes", f"cannot identify more than {MAX_ATTRIBUTES} attributes in one request"
        )
    for name, value in attributes.items():
        if len(name.encode()) > MAX_ATTRIBUTE_NAME_BYTES:
            return _problem(
                "attributes",
                f"attribute name cannot be longer than {MAX_ATTRIBUTE_NAME_BYTES} bytes",
            )
        if _size(value) > MAX_ATTRIBUTE_VALUE_BYTES:
            return _problem(
                f"attributes.{name}",
                f"value for attribute '{name}' cannot be longer than "
                f"{MAX_ATTRIBUTE_VALUE_BYTES} bytes",
            )
    return None


def _event_problem(entity: dict[str, Any]) -> Problem | None:
    name = entity.get("name")
    if not isinstance(name, str) or not name:
        return _problem("name", "name cannot be blank", "required")
    if entity["action"] == "event" and len(name.encode()) > MAX_EVENT_NAME_BYTES:
        return _problem("name", f"event name cannot be longer than {MAX_EVENT_NAME_BYTES} bytes")
    attributes = entity.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        return _problem("attributes", "attributes must be an object")
    if attributes is not None and _size(attributes) > MAX_EVENT_DATA_BYTES:
        return _problem(
            "attributes", f"event data cannot be larger than {MAX_EVENT_DATA_BYTES} bytes"
        )
    return None


def validate_entity(entity: Any) -> Problem | None:
    """The first reason the Track API would refuse this entity, or None."""
    if not isinstance(entity, dict):
        return _problem("", "each entity must be a JSON object")
    kind, action = entity.get("type"), entity.get("action")
    if kind not in ("person", "object"):
        return _problem("type", 'type must be "person" or "object"')
    actions = PERSON_ACTIONS if kind == "person" else OBJECT_ACTIONS
    if action not in actions:
        return _problem("action", f"action must be one of: {', '.join(sorted(actions))}")
    timestamp = entity.get("timestamp")
    if "timestamp" in entity and (not isinstance(timestamp, int) or isinstance(timestamp, bool)):
        return _problem("timestamp", "timestamp must be a valid unix timestamp (seconds)")
    if kind == "person" and action == "merge":
        return _person_identifier_problem(
            entity.get("primary"), "primary"
        ) or _person_identifier_problem(entity.get("secondary"), "secondary")
    if kind == "object":
        problem = _object_identifier_problem(entity.get("identifiers"))
        if problem is None and action == "identify_anonymous":
            relations = entity.get("cio_relationships")
            if not isinstance(relations, list) or not all(
                isinstance(r, dict)
                and isinstance(r.get("identifiers"), dict)
                and "anonymous_id" in r["identifiers"]
                for r in relations
            ):
                problem = _problem(
                    "cio_relationships", "identify_anonymous needs anonymous_id relationships"
                )
        return problem
    problem = _person_identifier_problem(
        entity.get("identifiers"), "identifiers", anonymous=action in ANONYMOUS_ACTIONS
    )
    if problem is not None:
        return problem
    if action == "identify":
        return _attribute_problem(entity.get("attributes"))
    if action in EVENT_LISTS:
        return _event_problem(entity)
    if action in ("add_device", "delete_device"):
        device = entity.get("device")
        if not isinstance(device, dict) or not isinstance(device.get("token"), str):
            return _problem("device.token", "device.token is required", "required")
        if action == "add_device" and device.get("platform") not in PLATFORMS:
            return _problem("device.platform", 'device.platform must be "ios" or "android"')
    return None


# --- state changes --------------------------------------------------------------------------


def _identifier_key(identifiers: dict[str, Any]) -> str:
    ((key, value),) = identifiers.items()
    return f"{key}:{value}"


def find_person(state: dict[str, Any], identifiers: dict[str, Any]) -> dict[str, Any] | None:
    """The person an `{id|email|cio_id: value}` identifier names, if they exist."""
    ((key, value),) = identifiers.items()
    if key == "cio_id":
        return state["people"].get(value)
    for person in state["people"].values():
        if person.get(key) == value:
            return person
    return None


def _person(state: dict[str, Any], identifiers: dict[str, Any]) -> dict[str, Any]:
    """Find or create (Track API calls create the people they name)."""
    found = find_person(state, identifiers)
    if found is not None:
        return found
    state["next_id"] += 1
    cio_id = f"cio-sandbox-{state['next_id']}"
    person: dict[str, Any] = {
        "cio_id": cio_id,
        "attributes": {},
        "anonymous_ids": [],
        "devices": {},
    }
    ((key, value),) = identifiers.items()
    if key != "cio_id":
        person[key] = value
    state["people"][cio_id] = person
    return person


def _link_anonymous(state: dict[str, Any], person: dict[str, Any], anonymous_id: Any) -> None:
    """An anonymous ID seen with a person: their anonymous activity becomes theirs."""
    if not isinstance(anonymous_id, str) or not anonymous_id:
        return
    if anonymous_id not in person["anonymous_ids"]:
        person["anonymous_ids"].append(anonymous_id)
    for name in ("events", "page_views", "screen_views"):
        for record in state[name]:
            if record["person"] is None and record.get("anonymous_id") == anonymous_id:
                record["person"] = person["cio_id"]


def _owner_of_anonymous(state: dict[str, Any], anonymous_id: str) -> str | None:
    for person in state["people"].values():
        if anonymous_id in person["anonymous_ids"]:
            return person["cio_id"]
    return None


def _object(state: dict[str, Any], identifiers: dict[str, Any]) -> dict[str, Any]:
    key = f"{identifiers['object_type_id']}:{identifiers['object_id']}"
    return state["objects"].setdefault(
        key,
        {
            "object_type_id": identifiers["object_type_id"],
            "object_id": identifiers["object_id"],
            "attributes": {},
            "relationships": [],
        },
    )


def _relation_key(state: dict[str, Any], identifiers: dict[str, Any]) -> dict[str, Any]:
    if "anonymous_id" in identifiers:
        return {"anonymous_id": identifiers["anonymous_id"]}
    return {"person": _person(state, identifiers)["cio_id"]}


def _relate(state: dict[str, Any], target: dict[str, Any], relation: dict[str, Any]) -> None:
    key = _relation_key(state, relation.get("identifiers") or {})
    target["relationships"] = [r for r in target["relationships"] if r["with"] != key]
    target["relationships"].append(
        {"with": key, "attributes": relation.get("relationship_attributes") or {}}
    )


def _suppressed(state: dict[str, Any], identifiers: dict[str, Any]) -> bool:
    return _identifier_key(identifiers) in state["suppressions"]


def _apply_person(state: dict[str, Any], entity: dict[str, Any]) -> None:
    action = entity["action"]
    if action == "merge":
        _merge(state, entity["primary"], entity["secondary"])
        return
    identifiers = entity["identifiers"]
    if action in EVENT_LISTS:
        _record_event(state, entity)
        return
    if action == "suppress":
        key = _identifier_key(identifiers)
        if key not in state["suppressions"]:
            state["suppressions"].append(key)
        _delete_person(state, identifiers, "suppress")
        return
    if action == "unsuppress":
        state["suppressions"] = [
            k for k in state["suppressions"] if k != _identifier_key(identifiers)
        ]
        return
    if action == "delete":
        _delete_person(state, identifiers, "delete")
        return
    if _suppressed(state, identifiers):
        return  # Customer.io ignores suppressed people
    person = _person(state, identifiers)
    if action == "identify":
        for name, value in (entity.get("attributes") or {}).items():
            if name == "anonymous_id":
                _link_anonymous(state, person, value)
                continue
            person["attributes"][name] = value
            if name == "email" and "email" not in person and isinstance(value, str):
                person["email"] = value
        for relation in entity.get("cio_relationships") or []:
            target = _object(state, relation["identifiers"])
            _relate(state, target, {**relation, "identifiers": identifiers})
    elif action == "add_device":
        device = entity["device"]
        person["devices"][device["token"]] = {
            key: device[key] for key in ("platform", "last_used", "attributes") if key in device
        }
    elif action == "delete_device":
        person["devices"].pop(entity["device"]["token"], None)


def _record_event(state: dict[str, Any], entity: dict[str, Any]) -> None:
    event_id = entity.get("id")
    if isinstance(event_id, str) and event_id:
        if event_id in state["event_ids"]:
            return  # de-duplicated by id, as Customer.io does
        state["event_ids"].append(event_id)
    identifiers = entity["identifiers"]
    attributes = dict(entity.get("attributes") or {})
    if "anonymous_id" in identifiers:
        anonymous_id = identifiers["anonymous_id"]
        owner = _owner_of_anonymous(state, anonymous_id)
    else:
        if _suppressed(state, identifiers):
            return
        person = _person(state, identifiers)
        anonymous_id = attributes.pop("anonymous_id", None)
        _link_anonymous(state, person, anonymous_id)
        owner = person["cio_id"]
    record = {
        "type": entity["action"],
        "name": entity["name"],
        "id": event_id,
        "person": owner,
        "anonymous_id": anonymous_id,
        "attributes": attributes,
        "timestamp": entity.get("timestamp"),
    }
    state[EVENT_LISTS[entity["action"]]].append(record)


def _delete_person(state: dict[str, Any], identifiers: dict[str, Any], why: str) -> None:
    person = find_person(state, identifiers)
    if person is not None:
        del state["people"][person["cio_id"]]
    state["deletions"].append(
        {"kind": "person", "identifiers": identifiers, "found": person is not None, "by": why}
    )


def _merge(
    state: dict[str, Any], primary_ids: dict[str, Any], secondary_ids: dict[str, Any]
) -> None:
    """The secondary's attributes (where the primary has none), anonymous IDs, devices and
    activity move to the primary, then the secondary is deleted."""
    secondary = find_person(state, secondary_ids)
    primary = _person(state, primary_ids)
    if secondary is not None and secondary is not primary:
        for name, value in secondary["attributes"].items():
            primary["attributes"].setdefault(name, value)
        for anonymous_id in secondary["anonymous_ids"]:
            _link_anonymous(state, primary, anonymous_id)
        for token, device in secondary["devices"].items():
            primary["devices"].setdefault(token, device)
        for name in ("events", "page_views", "screen_views"):
            for record in state[name]:
                if record["person"] == secondary["cio_id"]:
                    record["person"] = primary["cio_id"]
        del state["people"][secondary["cio_id"]]
    state["merges"].append(
        {"primary": primary_ids, "secondary": secondary_ids, "found": secondary is not None}
    )


def _apply_object(state: dict[str, Any], entity: dict[str, Any]) -> None:
    identifiers = entity["identifiers"]
    action = entity["action"]
    key = f"{identifiers['object_type_id']}:{identifiers['object_id']}"
    if action == "delete":
        found = state["objects"].pop(key, None)
        state["deletions"].append(
            {"kind": "object", "identifiers": identifiers, "found": found is not None}
        )
        return
    if action == "delete_relationships":
        target = state["objects"].get(key)
        if target is not None:
            for relation in entity.get("cio_relationships") or []:
                ids = relation.get("identifiers") or {}
                if "anonymous_id" in ids:
                    gone = {"anonymous_id": ids["anonymous_id"]}
                else:
                    person = find_person(state, ids)
                    gone = {"person": person["cio_id"] if person else None}
                target["relationships"] = [r for r in target["relationships"] if r["with"] != gone]
        return
    target = _object(state, identifiers)
    target["attributes"].update(entity.get("attributes") or {})
    if "created_at" in entity:
        target["created_at"] = entity["created_at"]
    for relation in entity.get("cio_relationships") or []:
        _relate(state, target, relation)


def apply_entity(state: dict[str, Any], entity: Any) -> Problem | None:
    """Validate one entity and, when valid, apply it to the state."""
    problem = validate_entity(entity)
    if problem is None:
        _apply_valid(state, entity)
    return problem


def _apply_valid(state: dict[str, Any], entity: dict[str, Any]) -> None:
    if entity["type"] == "person":
        _apply_person(state, entity)
    else:
        _apply_object(state, entity)


def entity_key(entity: dict[str, Any]) -> str:
    """The receipt key of a valid entity (the module docstring lists the forms)."""
    action = entity["action"]
    if entity["type"] == "object":
        ids = entity["identifiers"]
        return f"object {action} {ids['object_type_id']}/{ids['object_id']}"
    if action == "merge":
        primary, secondary = entity["primary"], entity["secondary"]
        return f"merge {_identifier_key(primary)} <- {_identifier_key(secondary)}"
    who = _identifier_key(entity["identifiers"])
    if action in EVENT_LISTS:
        event_id = entity.get("id")
        if isinstance(event_id, str) and event_id:
            return f"{action} {event_id}"
        return f"{action} {who} {entity.get('name')} #{digest(entity)}"
    if action in ("add_device", "delete_device"):
        return f"{action} {who} {entity['device']['token']}"
    return f"{action} {who}"


# --- routes ---------------------------------------------------------------------------------


def _auth(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    return json_response(200, {})


def _entity(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    problem = apply_entity(state, request.json())
    if problem is not None:
        return json_response(400, {"errors": [problem]})
    return json_response(200, {})


def _batch(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    if len(request.body) > MAX_BATCH_BYTES:
        return json_response(
            400, {"errors": [_problem("batch", "batch request must be smaller than 500KB")]}
        )
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        return json_response(400, {"errors": [_problem("batch", "batch is required", "required")]})
    errors = []
    for index, entity in enumerate(body["batch"]):
        problem = validate_entity(entity)
        if problem is None and request.fail_item():
            problem = TRANSIENT_ITEM_ERROR
        if problem is not None:
            errors.append({"batch_index": index, **problem})
        else:
            _apply_valid(state, entity)
    if errors:
        return json_response(207, {"errors": errors})
    return json_response(200, {})


def _entity_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    return [entity_key(request.json())]


def _batch_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    errors = response.body.get("errors", []) if isinstance(response.body, dict) else []
    refused = {error.get("batch_index") for error in errors}
    return [
        entity_key(entity)
        for index, entity in enumerate(request.json()["batch"])
        if index not in refused
    ]


def _metric_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    body = request.json()
    return [f"metric {body['delivery_id']} {body['metric']}"]


def _metrics(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    if not isinstance(body, dict):
        return json_response(400, {"meta": {"error": "invalid JSON body"}})
    if not isinstance(body.get("delivery_id"), str) or not body["delivery_id"]:
        return json_response(400, {"meta": {"error": "delivery_id is required"}})
    if body.get("metric") not in METRICS:
        return json_response(
            400, {"meta": {"error": f"metric must be one of: {', '.join(METRICS)}"}}
        )
    timestamp = body.get("timestamp")
    if timestamp is not None and (
        isinstance(timestamp, bool) or not isinstance(timestamp, (int, float))
    ):
        return json_response(400, {"meta": {"error": "timestamp must be a unix timestamp"}})
    state["metrics"].append(body)
    return json_response(200, {})


EMULATOR = Emulator(
    name="customerio",
    routes=(
        Route(AUTH, _auth, acknowledges=False),
        Route(ENTITY, _entity, receipts=_entity_receipts),
        Route(BATCH, _batch, receipts=_batch_receipts),
        Route(DELIVERY_METRICS, _metrics, receipts=_metric_receipts),
    ),
    authenticate=_authenticate,
    requests_per_second=RATE_LIMIT.requests_per_second,
    initial_state=_initial_state,
    credentials={"siteId": SITE_ID, "apiKey": API_KEY},
)
